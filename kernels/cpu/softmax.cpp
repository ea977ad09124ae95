// kernels/cpu/softmax.cpp: (being written)
