// core/graph_dot.cpp: to_dot(), the backward graph in Graphviz DOT (see
// graph_dot.h for what is drawn and how to read it).
#include "core/graph_dot.h"

#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/autograd.h"

namespace nova::autograd {

namespace {

/// s with DOT's special characters escaped, for a quoted label.
std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

struct Writer {
  const DotOptions& options;
  std::ostringstream os;
  std::unordered_map<const Node*, std::string> ids;    // node -> "n3"
  std::unordered_map<const Node*, Shape> out_shapes;   // from the consumers' input shapes
  std::unordered_map<const TensorImpl*, std::string> leaf_names;

  explicit Writer(const DotOptions& o) : options(o) {
    for (const auto& [name, t] : o.names)
      if (t.defined()) leaf_names.emplace(t.impl(), name);
  }

  std::string id_of(const Node* n) {
    auto it = ids.find(n);
    if (it != ids.end()) return it->second;
    return ids.emplace(n, "n" + std::to_string(ids.size())).first->second;
  }

  /// Every node reachable from the roots, each once, roots first.
  std::vector<const Node*> collect(const std::vector<const Node*>& starts) {
    std::vector<const Node*> order, stack(starts.rbegin(), starts.rend());
    std::unordered_set<const Node*> seen;
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (!n || !seen.insert(n).second) continue;
      order.push_back(n);
      for (size_t i = 0; i < n->next.size(); ++i) {
        const Node* child = n->next[i].get();
        if (!child) continue;
        out_shapes.emplace(child, n->input_shapes[i]);  // what the consumer saw
        stack.push_back(child);
      }
    }
    return order;
  }

  void write_op(const Node* n) {
    std::string label = escape(n->name) + "\\n";  // "\n": a line break in a DOT label
    auto shape = out_shapes.find(n);
    if (shape != out_shapes.end()) label += shape->second.str();
    if (!n->released && (n->saved_names || n->saved_out)) {
      std::string saved = n->saved_names ? n->saved_names : "";
      if (n->saved_out) saved += saved.empty() ? "output" : ", output";
      label += "\\nsaves " + escape(saved);
    }
    if (n->released) label += "\\n(freed)";
    std::string style = "shape=box, style=\"rounded,filled\"";
    std::string fill = "#f2f2f2", tooltip;
    if (options.grad_split_colours) {
      const Grouping& g = n->grouping;
      if (!g.row_local) {
        fill = "#f4b6b6";
        tooltip = std::string("not row-local: grad_split's grouped backward cannot run through it (fine in a "
                              "loss head, which it differentiates per loss)") +
                  (g.hint ? std::string(". ") + g.hint : "");
      } else if (g.rule) {
        fill = "#b6cff4";
        tooltip = "row-local, with a grouped rule: its parameters get one gradient per group";
      } else {
        fill = "#c4ebc4";
        tooltip = "row-local";
      }
    }
    os << "  " << id_of(n) << " [label=\"" << label << "\", " << style << ", fillcolor=\"" << fill << "\"";
    if (!tooltip.empty()) os << ", tooltip=\"" << escape(tooltip) << "\"";
    os << "];\n";
  }

  void write_leaf(const Node* n) {
    auto leaf = n->leaf.lock();
    std::string label = "leaf";
    if (leaf) {
      auto it = leaf_names.find(leaf.get());
      if (it != leaf_names.end()) label = escape(it->second);
      label += "\\n" + leaf->shape.str();
    } else {
      label += "\\n(destroyed)";
    }
    os << "  " << id_of(n) << " [label=\"" << label << "\", shape=ellipse, style=filled, fillcolor=\"#fff2cc\"];\n";
  }

  std::string run(const std::vector<Tensor>& roots) {
    os << "digraph backward {\n";
    os << "  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontsize=8];\n";
    if (!options.title.empty())
      os << "  labelloc=t;\n  label=\"" << escape(options.title) << "\";\n";
    // the roots: each an octagon pointing at the node that made it
    std::vector<const Node*> starts;
    for (size_t r = 0; r < roots.size(); ++r) {
      const Tensor& t = roots[r];
      const std::string name = r < options.root_names.size() ? options.root_names[r] : "output " + std::to_string(r);
      std::string label = escape(name);
      if (t.defined()) label += "\\n" + t.shape().str();
      os << "  r" << r << " [label=\"" << label << "\", shape=doubleoctagon, style=filled, fillcolor=\"#e6d5f2\"];\n";
      const Node* n = nullptr;
      if (t.defined() && t.requires_grad()) n = t.grad_fn() ? t.grad_fn().get() : t.impl()->grad_accumulator.get();
      if (n) {
        starts.push_back(n);
        out_shapes.emplace(n, t.shape());
      }
      roots_to.push_back(n);
    }
    const std::vector<const Node*> order = collect(starts);
    for (const Node* n : order) n->is_accumulator ? write_leaf(n) : write_op(n);
    for (const Node* n : order) {
      int inputs = 0;
      for (const auto& child : n->next) inputs += child != nullptr;
      for (size_t i = 0; i < n->next.size(); ++i) {
        if (!n->next[i]) continue;
        os << "  " << id_of(n->next[i].get()) << " -> " << id_of(n);
        if (inputs > 1) os << " [label=\"" << i << "\"]";
        os << ";\n";
      }
    }
    for (size_t r = 0; r < roots_to.size(); ++r)
      if (roots_to[r]) os << "  " << id_of(roots_to[r]) << " -> r" << r << ";\n";
    if (options.grad_split_colours)
      os << "  legend [shape=plaintext, label=<<table border=\"0\" cellspacing=\"2\">"
            "<tr><td bgcolor=\"#c4ebc4\">row-local</td></tr>"
            "<tr><td bgcolor=\"#b6cff4\">row-local, per-group parameter gradients</td></tr>"
            "<tr><td bgcolor=\"#f4b6b6\">not row-local (grad_split: loss heads only)</td></tr></table>>];\n";
    os << "}\n";
    return os.str();
  }
  std::vector<const Node*> roots_to;
};

}  // namespace

std::string to_dot(const std::vector<Tensor>& roots, const DotOptions& options) {
  Writer w(options);
  return w.run(roots);
}

void write_dot(const std::string& path, const std::vector<Tensor>& roots, const DotOptions& options) {
  const std::string text = to_dot(roots, options);
  std::ofstream f(path, std::ios::binary);
  NOVA_CHECK(f.good(), "write_dot: cannot open {} for writing", path);
  f << text;
  f.close();
  NOVA_CHECK(f.good(), "write_dot: writing {} failed", path);
}

}  // namespace nova::autograd
