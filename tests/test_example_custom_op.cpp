// tests/test_example_custom_op.cpp: the teaching example
// examples/teach/custom_op.cpp builds and runs: its op's values, gradcheck
// and gradgradcheck pass, a wrong call gets a clear error, and with
// NOVA_DEBUG=1 the op shows in the trace.
#include "tests/test_util.h"

#ifdef NOVA_CUSTOM_OP_EXAMPLE_PATH

TEST_CASE("the custom-op example passes its own checks and shows in the op trace", "[example][teach]") {
  const nova::test::CommandResult r = nova::test::run_command(NOVA_CUSTOM_OP_EXAMPLE_PATH);
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE(r.output.find("gradcheck: ok") != std::string::npos);
  REQUIRE(r.output.find("gradgradcheck: ok") != std::string::npos);
  REQUIRE(r.output.find("a wrong call: swish: expected a float32 or float64 tensor, got int64") != std::string::npos);
  const nova::test::CommandResult traced = nova::test::run_command(std::string("NOVA_DEBUG=1 ") +
                                                                   NOVA_CUSTOM_OP_EXAMPLE_PATH);
  REQUIRE(traced.status == 0);
  REQUIRE(traced.output.find("[nova] swish          in: [9] float64  out: [9] float64  backward node: no") !=
          std::string::npos);
  REQUIRE(traced.output.find("backward node: yes") != std::string::npos);
}

#endif
