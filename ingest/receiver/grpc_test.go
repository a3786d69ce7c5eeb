package receiver_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/store/sqlite"
)

func TestAuthInterceptor(t *testing.T) {
	as, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	key, hash, prefix, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateAPIKey(context.Background(), auth.APIKey{Name: "checkout", App: "checkout", Prefix: prefix, Hash: hash, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ic := receiver.AuthInterceptor(&auth.Ingest{Store: as})
	handler := func(ctx context.Context, req any) (any, error) {
		app, _ := analytics.BoundApp(ctx)
		return app, nil
	}
	tests := []struct {
		name string
		md   metadata.MD
		want codes.Code
		app  string
	}{
		{"bearer", metadata.Pairs("authorization", "Bearer "+key), codes.OK, "checkout"},
		{"x-api-key", metadata.Pairs("x-api-key", key), codes.OK, "checkout"},
		{"none", metadata.MD{}, codes.Unauthenticated, ""},
		{"wrong", metadata.Pairs("x-api-key", "sk_ss_wrong"), codes.Unauthenticated, ""},
	}
	for _, tc := range tests {
		ctx := metadata.NewIncomingContext(context.Background(), tc.md)
		got, err := ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x"}, handler)
		if status.Code(err) != tc.want {
			t.Errorf("%s: code %v, want %v", tc.name, status.Code(err), tc.want)
		}
		if err == nil && got != tc.app {
			t.Errorf("%s: bound app %v, want %q", tc.name, got, tc.app)
		}
	}

	// A key that cannot be checked is Unavailable, whatever the store said.
	as.Close()
	_, err = ic(metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-api-key", key)), nil, &grpc.UnaryServerInfo{FullMethod: "/x"}, handler)
	if status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "cannot check the ingest key now" {
		t.Errorf("store closed: %v, want Unavailable", err)
	}
}

func TestGRPCError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{analytics.Errorf(analytics.EUnavailable, "store down"), "rpc error: code = Unavailable desc = store down"},
		{analytics.Errorf(analytics.ETooLarge, "too big"), "rpc error: code = ResourceExhausted desc = too big"},
		{analytics.Errorf(analytics.EInvalid, "bad"), "rpc error: code = InvalidArgument desc = bad"},
		{analytics.Errorf(analytics.EForbidden, "other app"), "rpc error: code = PermissionDenied desc = other app"},
		{analytics.Errorf(analytics.EUnauthorized, "no key"), "rpc error: code = Unauthenticated desc = no key"},
		{context.Canceled, "rpc error: code = Canceled desc = canceled"},
		{errors.New("disk on fire"), "rpc error: code = Internal desc = internal error"},
	} {
		if got := receiver.GRPCError(tc.err).Error(); got != tc.want {
			t.Errorf("GRPCError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestLimitInterceptor(t *testing.T) {
	busy := analytics.Errorf(analytics.EUnavailable, "busy")
	released := 0
	ic := receiver.LimitInterceptor(func() (func(), error) {
		if released > 0 {
			return nil, busy
		}
		return func() { released++ }, nil
	})
	handler := func(ctx context.Context, req any) (any, error) { return "ok", nil }
	info := &grpc.UnaryServerInfo{FullMethod: "/x"}
	if got, err := ic(context.Background(), nil, info, handler); err != nil || got != "ok" || released != 1 {
		t.Errorf("admitted: %v %v, released %d", got, err, released)
	}
	if _, err := ic(context.Background(), nil, info, handler); status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "busy" {
		t.Errorf("refused: %v, want Unavailable busy", err)
	}
}
