// kernels/cpu/segment.cpp: placeholder (being written).
