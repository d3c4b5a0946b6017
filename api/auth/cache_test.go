package auth

import (
	"context"
	"testing"
	"time"
)

func TestTokenCache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newTokenCache(time.Minute)
	long := &Principal{ClientID: "a", ExpiresAt: now.Add(time.Hour)}
	short := &Principal{ClientID: "b", ExpiresAt: now.Add(10 * time.Second)}
	gone := &Principal{ClientID: "c", ExpiresAt: now.Add(-time.Second)}
	c.put("long", long, now)
	c.put("short", short, now)
	c.put("gone", gone, now)
	tests := []struct {
		raw  string
		at   time.Duration
		want *Principal
	}{
		{"long", 0, long},
		{"long", 59 * time.Second, long},
		{"long", time.Minute, nil}, // the TTL
		{"short", 9 * time.Second, short},
		{"short", 10 * time.Second, nil}, // never beyond exp
		{"gone", 0, nil},
		{"other", 0, nil},
	}
	for _, tt := range tests {
		if got := c.get(tt.raw, now.Add(tt.at)); got != tt.want {
			t.Errorf("get(%q) at +%v = %v, want %v", tt.raw, tt.at, got, tt.want)
		}
	}
	if off := newTokenCache(-1); off.get("x", now) != nil {
		t.Error("a disabled cache returned something")
	}
	for i := range maxCachedTokens + 10 {
		c.put(string(rune(i)), long, now)
	}
	if len(c.m) > maxCachedTokens {
		t.Errorf("cache grew to %d", len(c.m))
	}
}

// TestVerifyCachesOnlySuccess: a verified token is served from the cache;
// a token that failed is checked again every time; with the cache off
// every call verifies.
func TestVerifyCachesOnlySuccess(t *testing.T) {
	rk, ek, _ := testKeys(t)
	jwks := writeJWKS(t, rk, ek)
	good := sign(t, rk, with(baseClaims(), "exp", time.Now().Add(time.Hour).Unix()))
	bad := sign(t, rk, with(baseClaims(), "aud", "https://elsewhere.test"))
	v := newTestVerifier(t, Config{JWKSFile: jwks})
	ctx := context.Background()
	p1, err1 := v.Verify(ctx, good)
	p2, err2 := v.Verify(ctx, good)
	if err1 != nil || err2 != nil || p1 != p2 {
		t.Errorf("cached verify: %p %v, %p %v", p1, err1, p2, err2)
	}
	for range 2 {
		if _, err := v.Verify(ctx, bad); err == nil {
			t.Fatal("a bad token verified")
		}
	}
	off := newTestVerifier(t, Config{JWKSFile: jwks, CacheTTL: -1})
	q1, _ := off.Verify(ctx, good)
	q2, _ := off.Verify(ctx, good)
	if q1 == q2 {
		t.Error("with the cache off the same principal came back twice")
	}
}
