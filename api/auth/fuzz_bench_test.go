package auth

import (
	"context"
	"testing"
	"time"
)

// FuzzVerify checks that arbitrary token strings never panic and never
// verify: the fuzzer cannot produce a valid signature.
func FuzzVerify(f *testing.F) {
	rk, ek, _ := testKeys(f)
	v := newTestVerifier(f, Config{
		JWKSFile:    writeJWKS(f, rk, ek),
		Algs:        []string{AlgRS256, AlgES256, AlgHS256},
		HS256Secret: testSecret,
	})
	for _, s := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "...", "Bearer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		if err == nil {
			t.Fatalf("fuzzed token verified: %+v", p)
		}
		if _, ok := err.(*TokenError); !ok {
			t.Fatalf("error %T is not a *TokenError", err)
		}
	})
}

// BenchmarkVerify measures verification plus a scope check with cached
// keys: the signature checked on every request (uncached), and a token
// reused within the verified-token cache's TTL (cached).
func BenchmarkVerify(b *testing.B) {
	rk, ek, _ := testKeys(b)
	jwks := writeJWKS(b, rk, ek)
	for _, cache := range []struct {
		name string
		ttl  time.Duration
	}{{"uncached", -1}, {"cached", 0}} {
		v := newTestVerifier(b, Config{JWKSFile: jwks, CacheTTL: cache.ttl})
		for _, k := range []testKey{rk, ek} {
			benchVerify(b, v, k, cache.name)
		}
	}
}

func benchVerify(b *testing.B, v *Verifier, k testKey, name string) {
	{
		tok := sign(b, k, with(baseClaims(), "exp", time.Now().Add(time.Hour).Unix()))
		b.Run(k.alg+"/"+name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				p, err := v.Verify(ctx, tok)
				if err != nil {
					b.Fatal(err)
				}
				if ok, _ := p.Scopes.Allows(Read, "Goal"); !ok {
					b.Fatal("scope check failed")
				}
			}
		})
	}
}
