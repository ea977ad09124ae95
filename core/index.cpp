// core/index.cpp: (being written)
