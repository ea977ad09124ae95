// examples/graph_picture.h: what a trainer's --graph FILE.dot does: the
// backward graph of one training step's losses in Graphviz DOT
// (autograd::to_dot), and a PNG of it beside the file when Graphviz's `dot`
// program is installed (Debian: apt-get install graphviz). The picture is
// optional; the DOT file is always written.
#pragma once

#include <string>
#include <vector>

#include "core/graph_dot.h"

namespace nova::examples {

/// The GAN trainers' --graph option's help.
inline constexpr const char* kGanGraphOptionHelp =
    "write the backward graph of one step's losses (D real, D fake, G) to this Graphviz DOT file, parameters "
    "named, ops coloured by grad_split's view of them with aw, and a PNG beside it when Graphviz's dot is "
    "installed (apt-get install graphviz); the run itself is unchanged";

/// A GAN trainer's --graph: the graph of one step's three losses (D's loss
/// on the real rows and on the fake rows, G's loss), G's and D's parameters
/// named "G." and "D." + their names, ops coloured by grad_split's view of
/// them when `aw` (the weighting splits the D loss), titled `title`; then
/// as write_graph_picture.
std::string write_gan_step_graph(const std::string& dot_path, const Tensor& d_loss_real, const Tensor& d_loss_fake,
                                 const Tensor& g_loss, const NamedTensors& g_params, const NamedTensors& d_params,
                                 bool aw, const std::string& title);

/// `path` with its extension replaced by .png ("step.dot" -> "step.png").
std::string png_path_for(const std::string& dot_path);

/// Writes the DOT of `roots` to dot_path (throws nova::Error naming the path
/// when it cannot) and, when `dot` is on the PATH, renders it to
/// png_path_for(dot_path). Returns one line for the user: which files were
/// written, or why no PNG was made.
std::string write_graph_picture(const std::string& dot_path, const std::vector<Tensor>& roots,
                                const autograd::DotOptions& options);

}  // namespace nova::examples
