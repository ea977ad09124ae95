// kernels/cpu/segment.h: placeholder (being written).
