// core/graph_dot.h: the backward graph as a picture. to_dot() walks the
// autograd graph behind some tensors, the same walk backward() makes, and
// writes it in Graphviz's DOT language, for `dot -Tpng graph.dot -o
// graph.png` (Debian package graphviz).
//
// What the picture shows (read it bottom-up as the forward ran, top-down as
// the backward runs):
//   - one box per recorded op (its Node): the op's name, the shape of its
//     output, and what its backward keeps alive until it runs: "output" when
//     it reads the op's own result (tanh, sigmoid, softmax ...), and the
//     tensors the op names when it records (NodeOptions::saves), in the op's
//     own parameter names: "x" for log, relu and the other unary ops whose
//     derivative reads the input, "a, b" for mul and matmul, "x, weight" for
//     linear and conv2d, "index" for gather, "x, weight, mean, rstd" for the
//     norms. Every op in nova names all it keeps, so a box with no "saves"
//     line (add, reshape, sum) keeps no tensor; an op written elsewhere that
//     names nothing may still keep something in its closure, which the
//     engine cannot see;
//   - one ellipse per leaf that receives a gradient (an AccumulateGrad
//     node): its name when the caller gives one (Module::named_parameters),
//     and its shape;
//   - an arrow from each input to the op that read it, labelled with the
//     input's position when an op has several;
//   - the roots (the tensors passed in) as double octagons.
// With grad_split colours on, each op is coloured by what grad_split's fused
// path (core/grad_split.h) can do with it, and a legend says so: green
// row-local (output row i reads row i of its inputs), blue row-local with a
// grouped rule (its parameters get one gradient per group of rows in the
// same backward), red not row-local (the grouped backward cannot run
// through it; its tooltip carries the op's hint). Red is expected in the
// loss heads, above the batch output where the K losses part (the slices of
// their rows, the means): grad_split differentiates those per loss, and only
// the network below must be green or blue. A gradient computed with
// create_graph is itself a graph root: pass it in to see the double-backward
// graph (a gradient penalty's).
#pragma once

#include <string>
#include <vector>

#include "core/state_dict.h"
#include "core/tensor.h"

namespace nova::autograd {

/// How to_dot draws the graph.
struct DotOptions {
  /// Names for leaves (parameters, inputs), matched by identity (the same
  /// tensor, not equal values): Module::named_parameters() gives them for a
  /// model. A leaf with no name is drawn as "leaf".
  NamedTensors names;
  /// Names for the roots, in order (default "output 0", "output 1", ...).
  std::vector<std::string> root_names;
  /// Colour ops by their grad_split role (see the top of this file).
  bool grad_split_colours = false;
  /// The graph's title, drawn at its top (empty: none).
  std::string title;
};

/// The backward graph behind `roots` in DOT. Roots without a graph (no
/// requires_grad) are drawn alone. Nodes freed by a backward without
/// retain_graph keep their edges and are marked "(freed)".
std::string to_dot(const std::vector<Tensor>& roots, const DotOptions& options = {});

/// to_dot() written to `path`; throws nova::Error naming the path when it
/// cannot be written.
void write_dot(const std::string& path, const std::vector<Tensor>& roots, const DotOptions& options = {});

}  // namespace nova::autograd
