// optim/self_correcting.h: placeholder (being written).
