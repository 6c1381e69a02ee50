package main

import (
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var _ = kadm.NewClient
var _ = kgo.NewClient

func main() {}
