// kernels/cuda/segment.cu: placeholder (being written).
