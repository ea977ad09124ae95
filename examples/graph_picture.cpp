// examples/graph_picture.cpp: DOT file plus an optional PNG through Graphviz
// (see graph_picture.h).
#include "examples/graph_picture.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

namespace nova::examples {

namespace {

/// s in single quotes for /bin/sh, any quote inside escaped.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace

std::string png_path_for(const std::string& dot_path) {
  return std::filesystem::path(dot_path).replace_extension(".png").string();
}

std::string write_graph_picture(const std::string& dot_path, const std::vector<Tensor>& roots,
                                const autograd::DotOptions& options) {
  autograd::write_dot(dot_path, roots, options);
  if (std::system("command -v dot > /dev/null 2>&1") != 0)
    return fmt::format("wrote {} (no PNG: Graphviz's dot is not installed; apt-get install graphviz, then "
                       "dot -Tpng {} -o {})",
                       dot_path, dot_path, png_path_for(dot_path));
  const std::string png = png_path_for(dot_path);
  const std::string cmd = "dot -Tpng " + shell_quote(dot_path) + " -o " + shell_quote(png);
  if (std::system(cmd.c_str()) != 0) return fmt::format("wrote {}; dot failed to draw {}", dot_path, png);
  return fmt::format("wrote {} and {}", dot_path, png);
}

std::string write_gan_step_graph(const std::string& dot_path, const Tensor& d_loss_real, const Tensor& d_loss_fake,
                                 const Tensor& g_loss, const NamedTensors& g_params, const NamedTensors& d_params,
                                 bool aw, const std::string& title) {
  autograd::DotOptions options;
  for (const auto& [name, t] : g_params) options.names.emplace_back("G." + name, t);
  for (const auto& [name, t] : d_params) options.names.emplace_back("D." + name, t);
  options.root_names = {"D loss, real rows", "D loss, fake rows", "G loss"};
  options.grad_split_colours = aw;
  options.title = title;
  return write_graph_picture(dot_path, {d_loss_real, d_loss_fake, g_loss}, options);
}

}  // namespace nova::examples
