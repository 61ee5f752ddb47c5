// Any gRPC client can find the agent: the standard health service and
// server reflection answer, spoken to with a generic stub (raw protobuf
// bytes), as a tool like grpcurl would.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>

#include "support/agent.hpp"
#include "support/site.hpp"

namespace cutover::test {
namespace {

std::string Bytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ =
        std::make_unique<AgentProcess>(LocalAgent(dir_, MakeAppStateFile(dir_)), dir_ / "agent");
    agent_->Start();
  }
  TempDir dir_{"agent-discovery"};
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(DiscoveryTest, HealthCheckSaysServing) {
  grpc::GenericStub stub(agent_->UnixChannel());
  auto ctx = Context();
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service: ""}
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) { done.set_value(s); });
  grpc::Status status = done.get_future().get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Bytes(response), std::string("\x08\x01", 2));  // status: SERVING
}

TEST_F(DiscoveryTest, ReflectionListsTheCutoverService) {
  grpc::GenericStub stub(agent_->UnixChannel());
  grpc::CompletionQueue cq;
  auto ctx = Context();
  auto call = stub.PrepareCall(
      ctx.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](std::intptr_t expected) {
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<std::intptr_t>(tag), expected);
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  ASSERT_TRUE(ok);
  grpc::Slice list_services(std::string("\x3a\x00", 2));  // list_services: ""
  grpc::ByteBuffer request(&list_services, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  step(2);
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  step(4);
  ASSERT_TRUE(ok);
  const std::string bytes = Bytes(response);
  EXPECT_NE(bytes.find("cutover.v1.CutoverService"), std::string::npos);
  EXPECT_NE(bytes.find("grpc.health.v1.Health"), std::string::npos);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  // A Read that ends the stream may complete before Finish.
  while (cq.Next(&tag, &ok) && reinterpret_cast<std::intptr_t>(tag) != 5) {
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace cutover::test
