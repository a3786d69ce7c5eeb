// Package receiver is stopscope's ingest transport: every endpoint records
// arrive by, in front of the pure decoders of package ingest (native
// records) and package otlp (OTLP traces, logs and metrics).
//
//   - Handler serves the native POST /v1/responses: it reads the body
//     within the size limits, inflating gzip, decodes it with
//     ingest.DecodeBatch, stores the records and answers with an
//     ingest.BatchResult.
//   - Receiver serves OTLP/HTTP (POST /v1/traces, /v1/logs and
//     /v1/metrics, protobuf or JSON, gzip or not) and OTLP/gRPC, decoding
//     with package otlp; Seen remembers which producer last sent what.
//   - grpc.go holds what is gRPC's alone: the services, the one table of
//     gRPC codes (GRPCError) and the interceptors that authenticate calls
//     and bound how many run at once.
//
// Errors follow the OTLP specification where it is strict and stopscope's
// central error handler (web.StatusOf, the one table of HTTP statuses)
// elsewhere. OTLP/HTTP answers a body that cannot be decoded here with 400
// and a google.rpc.Status body in the request's own content type, and an
// unsupported media type or encoding with 415 (the specification asks for
// both; neither has an analytics code). Every other refusal, native or
// OTLP/HTTP, is returned as an *analytics.Error (ETooLarge past a limit,
// EInvalid for a body that cannot be read, the sink's error as it is) for
// the central handler to map.
//
// This is the only package under ingest/ that knows of echo, gRPC or HTTP
// statuses.
package receiver
