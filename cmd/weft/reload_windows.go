package main

import "os"

// notifyHangup does nothing: Windows has no SIGHUP; restart the service to
// load changed rules.
func notifyHangup(chan<- os.Signal) {}
