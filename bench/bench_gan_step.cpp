// bench/bench_gan_step.cpp: placeholder (being written).
int main() { return 0; }
