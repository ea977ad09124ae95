// core/softmax.cpp: (being written)
