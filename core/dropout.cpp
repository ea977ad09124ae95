// core/dropout.cpp: (being written)
