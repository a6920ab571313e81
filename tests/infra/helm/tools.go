//go:build tools

// Package tools pins the program that build.sh compiles: importing it here
// keeps its modules (and only theirs) in go.mod and go.sum.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
