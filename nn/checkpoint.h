// nn/checkpoint.h: save and load a StateDict (and so a Module) as a
// safetensors file (core/safetensors.h), the format Python's `safetensors`
// reads: `safetensors.torch.load_file("model.safetensors")` opens what
// save() writes.
//
// Safety comes from two layers. core/safetensors writes to a temporary file
// and renames it (a crash never leaves half a checkpoint) and checks a CRC of
// the data on reading. Here, load() reads the whole file into a StateDict
// first and load_state_dict() validates every key, shape and dtype before it
// copies any value: a bad file never leaves a module half-loaded.
#pragma once

#include <string>

#include "core/safetensors.h"
#include "nn/module.h"

namespace nova::nn {

/// Writes every tensor of `state` (as contiguous little-endian CPU bytes) to
/// `path`, replacing an existing file only once the new one is complete.
/// Throws nova::Error naming the file; the old file is then untouched.
void save_checkpoint(const std::string& path, const StateDict& state,
                     const safetensors::Metadata& metadata = {});

/// Reads a checkpoint into a StateDict of CPU tensors, in file order, and
/// its __metadata__ into *metadata when not null. Throws nova::Error naming
/// the file on a malformed, truncated or corrupted file, or a dtype nova
/// does not hold (F16, U8, ...).
StateDict load_checkpoint(const std::string& path, safetensors::Metadata* metadata = nullptr);

/// load_checkpoint over a whole file already in memory (`size` bytes at
/// `data`), as safetensors::parse reads it; `name` stands for the path in
/// every message.
StateDict parse_checkpoint(const uint8_t* data, size_t size, const std::string& name,
                           safetensors::Metadata* metadata = nullptr);

/// save_checkpoint(path, module.state_dict(), metadata).
void save(const Module& module, const std::string& path, const safetensors::Metadata& metadata = {});

/// Loads `path` into `module` (tensors keep their device and handles). All
/// or nothing: on any error the module is unchanged and the message names
/// the file. strict as in Module::load_state_dict.
void load(Module& module, const std::string& path, bool strict = true);

}  // namespace nova::nn
