//go:build !windows

package winlog

// Available reports whether live subscriptions work here: they need
// Windows.
func Available() error { return ErrUnsupported }

func subscribe(channel, query, bookmark, startAt string) (reader, error) {
	return nil, ErrUnsupported
}
