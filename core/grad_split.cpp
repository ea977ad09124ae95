// core/grad_split.cpp: placeholder (being written).
