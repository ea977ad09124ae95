// kernels/cuda/segment_stub.cpp: placeholder (being written).
