// nn/gan_loss.cpp: placeholder (being written).
