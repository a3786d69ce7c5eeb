package storetest

import (
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/store"
)

func authStore(t *testing.T, s store.Store) auth.Store {
	t.Helper()
	as, ok := s.(auth.Store)
	if !ok {
		t.Fatalf("%T does not implement auth.Store", s)
	}
	return as
}

// testAPIKeys covers creating, finding, listing and revoking ingest keys.
func testAPIKeys(t *testing.T, s store.Store) {
	as := authStore(t, s)
	if n, err := as.CountActiveAPIKeys(ctx()); err != nil || n != 0 {
		t.Fatalf("a new store counts %d keys, %v", n, err)
	}
	a, err := as.CreateAPIKey(ctx(), auth.APIKey{Name: "ci", App: "checkout", Prefix: "sk_ss_abcd", Hash: "aa11", Created: t0})
	if err != nil || a.ID == 0 {
		t.Fatalf("create: %v, id %d", err, a.ID)
	}
	b, err := as.CreateAPIKey(ctx(), auth.APIKey{Name: "any app", Prefix: "sk_ss_efgh", Hash: "bb22", Created: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateAPIKey(ctx(), auth.APIKey{Name: "dup", Hash: "aa11", Created: t0}); errCode(err) != analytics.EConflict {
		t.Errorf("duplicate hash: err %v, want conflict", err)
	}
	if _, err := as.CreateAPIKey(ctx(), auth.APIKey{Name: "no hash"}); errCode(err) != analytics.EInvalid {
		t.Errorf("no hash: err %v, want invalid", err)
	}
	got, err := as.APIKeyByHash(ctx(), "aa11")
	if err != nil || got != a || !got.Active() {
		t.Errorf("by hash = %+v, %v; want %+v", got, err, a)
	}
	if _, err := as.APIKeyByHash(ctx(), "cc33"); errCode(err) != analytics.ENotFound {
		t.Errorf("missing hash: err %v, want not_found", err)
	}
	if n, err := as.CountActiveAPIKeys(ctx()); err != nil || n != 2 {
		t.Errorf("count = %d, %v; want 2", n, err)
	}

	revoked := t0.Add(time.Hour)
	if err := as.RevokeAPIKey(ctx(), a.ID, revoked); err != nil {
		t.Fatal(err)
	}
	// A second revocation keeps the first time.
	if err := as.RevokeAPIKey(ctx(), a.ID, revoked.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := as.RevokeAPIKey(ctx(), 999999, revoked); errCode(err) != analytics.ENotFound {
		t.Errorf("revoke missing: err %v, want not_found", err)
	}
	got, err = as.APIKeyByHash(ctx(), "aa11")
	if err != nil || got.Active() || !got.Revoked.Equal(revoked) {
		t.Errorf("revoked key = %+v, %v; want revoked at %v", got, err, revoked)
	}
	if n, err := as.CountActiveAPIKeys(ctx()); err != nil || n != 1 {
		t.Errorf("count after revoke = %d, %v; want 1", n, err)
	}
	list, err := as.ListAPIKeys(ctx())
	a.Revoked = revoked
	if err != nil || len(list) != 2 || list[0] != a || list[1] != b {
		t.Errorf("list = %+v, %v; want %+v, %+v", list, err, a, b)
	}
}

// testUsersSessions covers users and their sessions, expiry included.
func testUsersSessions(t *testing.T, s store.Store) {
	as := authStore(t, s)
	if n, err := as.CountUsers(ctx()); err != nil || n != 0 {
		t.Fatalf("a new store counts %d users, %v", n, err)
	}
	ann, err := as.CreateUser(ctx(), auth.User{Name: "ann", PasswordHash: "$argon2id$x", Created: t0})
	if err != nil || ann.ID == 0 {
		t.Fatalf("create: %v", err)
	}
	bob, err := as.CreateUser(ctx(), auth.User{Name: "bob", PasswordHash: "$argon2id$y", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    auth.User
		code string
	}{
		{"taken name", auth.User{Name: "ann", PasswordHash: "h"}, analytics.EConflict},
		{"no name", auth.User{PasswordHash: "h"}, analytics.EInvalid},
		{"no hash", auth.User{Name: "cy"}, analytics.EInvalid},
	}
	for _, tc := range tests {
		if _, err := as.CreateUser(ctx(), tc.u); errCode(err) != tc.code {
			t.Errorf("%s: err %v, want %s", tc.name, err, tc.code)
		}
	}
	if got, err := as.UserByName(ctx(), "ann"); err != nil || got != ann {
		t.Errorf("by name = %+v, %v; want %+v", got, err, ann)
	}
	if _, err := as.UserByName(ctx(), "nobody"); errCode(err) != analytics.ENotFound {
		t.Errorf("missing user: err %v", err)
	}
	if list, err := as.ListUsers(ctx()); err != nil || len(list) != 2 || list[0] != ann || list[1] != bob {
		t.Errorf("list = %+v, %v", list, err)
	}

	now := t0.Add(time.Hour)
	for _, se := range []auth.Session{
		{Hash: "s-ann", UserID: ann.ID, Created: now, Expires: now.Add(time.Hour)},
		{Hash: "s-ann-old", UserID: ann.ID, Created: t0, Expires: now},
		{Hash: "s-bob", UserID: bob.ID, Created: now, Expires: now.Add(time.Hour)},
	} {
		if err := as.CreateSession(ctx(), se); err != nil {
			t.Fatal(err)
		}
	}
	if err := as.CreateSession(ctx(), auth.Session{Hash: "no user"}); errCode(err) != analytics.EInvalid {
		t.Errorf("session without user: err %v", err)
	}
	se, err := as.SessionByHash(ctx(), "s-ann", now)
	if err != nil || se.UserID != ann.ID || se.UserName != "ann" || !se.Expires.Equal(now.Add(time.Hour)) || !se.Created.Equal(now) {
		t.Errorf("session = %+v, %v", se, err)
	}
	// A session is no longer valid at its expiry.
	if _, err := as.SessionByHash(ctx(), "s-ann-old", now); errCode(err) != analytics.ENotFound {
		t.Errorf("expired session: err %v, want not_found", err)
	}
	if n, err := as.DeleteExpiredSessions(ctx(), now); err != nil || n != 1 {
		t.Errorf("delete expired = %d, %v; want 1", n, err)
	}
	if err := as.DeleteSession(ctx(), "s-ann"); err != nil {
		t.Fatal(err)
	}
	if err := as.DeleteSession(ctx(), "s-ann"); err != nil {
		t.Errorf("deleting a missing session: %v", err)
	}
	if _, err := as.SessionByHash(ctx(), "s-ann", now); errCode(err) != analytics.ENotFound {
		t.Errorf("logged out session: err %v", err)
	}

	// A new password ends the user's sessions.
	if err := as.SetUserPassword(ctx(), "bob", "$argon2id$z"); err != nil {
		t.Fatal(err)
	}
	if got, _ := as.UserByName(ctx(), "bob"); got.PasswordHash != "$argon2id$z" {
		t.Errorf("password hash = %q after change", got.PasswordHash)
	}
	if _, err := as.SessionByHash(ctx(), "s-bob", now); errCode(err) != analytics.ENotFound {
		t.Errorf("session after password change: err %v", err)
	}
	if err := as.SetUserPassword(ctx(), "nobody", "h"); errCode(err) != analytics.ENotFound {
		t.Errorf("password of missing user: err %v", err)
	}

	// Deleting a user ends the user's sessions.
	if err := as.CreateSession(ctx(), auth.Session{Hash: "s-bob-2", UserID: bob.ID, Created: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := as.DeleteUser(ctx(), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SessionByHash(ctx(), "s-bob-2", now); errCode(err) != analytics.ENotFound {
		t.Errorf("session of deleted user: err %v", err)
	}
	if err := as.DeleteUser(ctx(), "bob"); errCode(err) != analytics.ENotFound {
		t.Errorf("delete missing user: err %v", err)
	}
	if n, err := as.CountUsers(ctx()); err != nil || n != 1 {
		t.Errorf("count = %d, %v; want 1", n, err)
	}
}
