package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedactHidesPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://custody:s3cret@db:5432/custody?sslmode=disable": "postgres://custody:xxxxx@db:5432/custody?sslmode=disable",
		"esdb://admin:changeit@a:2113,b:2113?tls=true":              "esdb://admin:xxxxx@a:2113,b:2113?tls=true",
		"nats://u:p@localhost:4222":                                 "nats://u:xxxxx@localhost:4222",
		"sqlite:./data/custody.db":                                  "sqlite:./data/custody.db",
		"postgres://db/custody":                                     "postgres://db/custody",
		"postgres://u:p@db:%zz/x":                                   "(unparsable URL)",
	} {
		assert.Equal(t, want, redact(in), in)
	}
}
