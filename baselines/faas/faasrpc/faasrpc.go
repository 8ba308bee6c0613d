// Package faasrpc is the function protocol of the vHive/InVitro loader and
// of the Kubedirect artifact's function image (shengqipku/kubedirect-bench,
// FUNCTION_TYPE=trace): one unary gRPC call, faas.Executor/Execute, from
// the loader's pkg/workload/proto/faas.proto. The messages are built from
// that file's descriptor at run time (dynamicpb), so the wire format is the
// proto file's without generated code.
package faasrpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Method is the call's full name on the wire.
const Method = "/faas.Executor/Execute"

// Request is faas.FaasRequest: what the loader asks the function to do.
type Request struct {
	Message   string // unused; the loader sends "nothing"
	RuntimeMs uint32 // runtimeInMilliSec: busy-spin this long
	MemoryMiB uint32 // memoryInMebiBytes
}

// Reply is faas.FaasReply.
type Reply struct {
	Message    string // "" from the trace function; "FAILURE - mem_alloc…" on an allocation failure
	DurationUs uint32 // durationInMicroSec: execution time measured in the function
	MemoryKiB  uint32 // memoryUsageInKb
}

// Execute makes one call on conn.
func Execute(ctx context.Context, conn grpc.ClientConnInterface, req Request, opts ...grpc.CallOption) (Reply, error) {
	in, out := dynamicpb.NewMessage(requestDesc), dynamicpb.NewMessage(replyDesc)
	setFields(in, req.Message, req.RuntimeMs, req.MemoryMiB)
	if err := conn.Invoke(ctx, Method, in, out, opts...); err != nil {
		return Reply{}, err
	}
	msg, d, m := getFields(out)
	return Reply{Message: msg, DurationUs: d, MemoryKiB: m}, nil
}

// Executor serves Execute; Register puts one on a gRPC server, as the
// function image's handler does.
type Executor func(ctx context.Context, req Request) (Reply, error)

// Register serves exec as faas.Executor on s.
func Register(s *grpc.Server, exec Executor) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "faas.Executor",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Execute", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := dynamicpb.NewMessage(requestDesc)
			if err := dec(in); err != nil {
				return nil, err
			}
			msg, rt, mem := getFields(in)
			rep, err := exec(ctx, Request{Message: msg, RuntimeMs: rt, MemoryMiB: mem})
			if err != nil {
				return nil, err
			}
			out := dynamicpb.NewMessage(replyDesc)
			setFields(out, rep.Message, rep.DurationUs, rep.MemoryKiB)
			return out, nil
		}}},
		Metadata: "faas.proto",
	}, struct{}{})
}

// Both messages are (string, uint32, uint32) in fields 1–3.
func setFields(m *dynamicpb.Message, s string, a, b uint32) {
	f := m.Descriptor().Fields()
	m.Set(f.ByNumber(1), protoreflect.ValueOfString(s))
	m.Set(f.ByNumber(2), protoreflect.ValueOfUint32(a))
	m.Set(f.ByNumber(3), protoreflect.ValueOfUint32(b))
}

func getFields(m *dynamicpb.Message) (string, uint32, uint32) {
	f := m.Descriptor().Fields()
	return m.Get(f.ByNumber(1)).String(), uint32(m.Get(f.ByNumber(2)).Uint()), uint32(m.Get(f.ByNumber(3)).Uint())
}

var requestDesc, replyDesc = descriptors()

// descriptors builds faas.proto's two messages.
func descriptors() (protoreflect.MessageDescriptor, protoreflect.MessageDescriptor) {
	field := func(name string, n int32, t descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(n),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: t.Enum()}
	}
	str, u32 := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_UINT32
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("faas.proto"), Package: proto.String("faas"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("FaasRequest"), Field: []*descriptorpb.FieldDescriptorProto{
				field("message", 1, str), field("runtimeInMilliSec", 2, u32), field("memoryInMebiBytes", 3, u32)}},
			{Name: proto.String("FaasReply"), Field: []*descriptorpb.FieldDescriptorProto{
				field("message", 1, str), field("durationInMicroSec", 2, u32), field("memoryUsageInKb", 3, u32)}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Executor"), Method: []*descriptorpb.MethodDescriptorProto{{
			Name: proto.String("Execute"), InputType: proto.String(".faas.FaasRequest"), OutputType: proto.String(".faas.FaasReply")}}}},
	}, nil)
	if err != nil {
		panic(fmt.Sprintf("faas.proto: %v", err)) // a constant descriptor
	}
	return fd.Messages().ByName("FaasRequest"), fd.Messages().ByName("FaasReply")
}
