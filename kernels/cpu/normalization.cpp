// kernels/cpu/normalization.cpp: (being written)
