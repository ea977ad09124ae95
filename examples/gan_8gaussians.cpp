// examples/gan_8gaussians.cpp: placeholder (being written).
int main() { return 0; }
