// bench/bench_grad_split.cpp: placeholder (being written).
int main() { return 0; }
