// datasets/stl10.h: a reader for the binary STL-10 files
// (https://cs.stanford.edu/~acoates/stl10/, stl10_binary.tar.gz, which
// unpacks to stl10_binary/):
//   train_X.bin  5000 images     train_y.bin  5000 labels
//   test_X.bin   8000 images     test_y.bin   8000 labels
//   unlabeled_X.bin  100000 images (2.7 GB), no labels
// An _X file is images back to back, 27648 bytes each, nothing else: 3
// channels (R, G, B) of 96x96 uint8 pixels, each channel stored
// column-major, as the format's own reader says (stl10_input.py reshapes to
// [-1, 3, 96, 96] and transposes to [n, row, col, channel]): byte
// c*9216 + col*96 + row of an image is channel c at (row, col). The reader
// turns that into the usual row-major [n, 3, h, w]. A _y file is one byte per
// image, the class 1-10; the reader returns class - 1, 0-9, as torchvision does.
//
// The thesis trains on STL-10 at 48x48 (section 2.1.4: "All images are
// resized to 48x48 pixels"). 96 -> 48 is an exact halving, so the reader
// offers the exact downscale: each output pixel the mean of its 2x2 block,
// taken on the byte values and scaled once (not rounded back to a byte).
// torchvision's Resize(48), which the PyTorch GAN codes call, goes through
// PIL's antialiased bilinear filter instead: weights (1, 3, 3, 1) / 8 over 4
// pixels per axis, rounded to uint8, so slightly blurrier; the box mean is
// the plain definition of "half the resolution" and needs no filter choice.
//
// The unlabelled file is read in chunks of images, never whole, and with
// options.limit only its first `limit` images are read at all.
// Errors are nova::Error "stl10: <file>: ..." with the byte offset: a size
// that is not a whole number of images, a label outside 1-10, image and
// label counts that differ (naming both files), a missing file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/images.h"

namespace nova::datasets {

enum class Stl10Split { Train, Test, Unlabeled };

struct Stl10Options {
  /// [-1, 1] by default, the range of a GAN generator's tanh (datasets/images.h)
  PixelRange range = PixelRange::MinusOneToOne;
  /// the side of the returned images: 96 as stored, or 48, each pixel the
  /// mean of a 2x2 block (the thesis's resolution)
  int64_t size = 96;
  /// read at most this many images (and labels), the first ones of the
  /// file; -1 reads them all
  int64_t limit = -1;
};

/// Bytes of one stored image: 3 * 96 * 96.
constexpr size_t kStl10ImageBytes = 3 * 96 * 96;

/// The STL-10 split in folder `dir` (stl10_binary): images
/// [n, 3, size, size] float32 and labels [n] int64 in 0-9 (undefined for
/// Unlabeled). Throws nova::Error "stl10: <file>: ..." when a file is
/// missing (listing the names the split expects), is not a whole number of
/// images, holds a label outside 1-10 (naming its byte), or when the _X and
/// _y files count different numbers of images; and for a size other than
/// 96 or 48 or a limit below -1.
ImageDataset read_stl10(const std::string& dir, Stl10Split split, const Stl10Options& options = {});

/// One _X.bin file: [n, 3, size, size] float32, n = its image count or
/// options.limit, whichever is smaller. Reads only those images' bytes.
Tensor read_stl10_images(const std::string& path, const Stl10Options& options = {});

/// One _y.bin file: [n] int64, the classes 1-10 as 0-9; at most `limit`
/// of them (-1: all).
Tensor read_stl10_labels(const std::string& path, int64_t limit = -1);

/// read_stl10_images / read_stl10_labels over a whole file already in
/// memory (what the fuzzer calls): `size` bytes at `data`, `name` standing
/// for the file in every message; offsets count from `data`.
Tensor parse_stl10_images(const uint8_t* data, size_t size, const std::string& name,
                          const Stl10Options& options = {});
Tensor parse_stl10_labels(const uint8_t* data, size_t size, const std::string& name,
                          int64_t limit = -1);

}  // namespace nova::datasets
