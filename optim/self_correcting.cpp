// optim/self_correcting.cpp: placeholder (being written).
