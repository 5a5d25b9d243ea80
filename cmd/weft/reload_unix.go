//go:build !windows

package main

import (
	"os"
	"os/signal"
	"syscall"
)

func notifyHangup(ch chan<- os.Signal) { signal.Notify(ch, syscall.SIGHUP) }
