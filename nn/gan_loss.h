// nn/gan_loss.h: placeholder (being written).
