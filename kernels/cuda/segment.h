// kernels/cuda/segment.h: placeholder (being written).
