//go:build windows

package winlog

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Flags and values of the Windows Event Log API (winevt.h).
const (
	evtSubscribeToFutureEvents      = 1
	evtSubscribeStartAtOldestRecord = 2
	evtSubscribeStartAfterBookmark  = 3

	evtRenderEventXML = 1
	evtRenderBookmark = 2
)

// maxRendered bounds one rendered event (UTF-16 bytes); an EVTX record
// cannot exceed 64 KiB, so this is far beyond any real event.
const maxRendered = 16 << 20

// pollInterval is how often a wait for events looks at its context.
const pollInterval = 500 * time.Millisecond

// evtAPI is wevtapi.dll's functions, loaded for each subscription rather
// than kept in package variables.
type evtAPI struct {
	subscribe, next, render, close, createBookmark, updateBookmark *windows.LazyProc
}

func loadAPI() (*evtAPI, error) {
	dll := windows.NewLazySystemDLL("wevtapi.dll")
	if err := dll.Load(); err != nil {
		return nil, fmt.Errorf("winlog: %w", err)
	}
	a := &evtAPI{
		subscribe:      dll.NewProc("EvtSubscribe"),
		next:           dll.NewProc("EvtNext"),
		render:         dll.NewProc("EvtRender"),
		close:          dll.NewProc("EvtClose"),
		createBookmark: dll.NewProc("EvtCreateBookmark"),
		updateBookmark: dll.NewProc("EvtUpdateBookmark"),
	}
	for _, p := range []*windows.LazyProc{a.subscribe, a.next, a.render, a.close, a.createBookmark, a.updateBookmark} {
		if err := p.Find(); err != nil {
			return nil, fmt.Errorf("winlog: %w", err)
		}
	}
	return a, nil
}

// Available reports whether live subscriptions work here: the Windows
// Event Log API must load.
func Available() error {
	_, err := loadAPI()
	return err
}

// subscription is a pull subscription to one channel: Windows sets signal
// when events are there, and EvtNext takes them.
type subscription struct {
	api      *evtAPI
	channel  string
	handle   uintptr
	bookmark uintptr
	signal   windows.Handle
	buf      []uint16
}

func subscribe(channel, query, bookmark, startAt string) (reader, error) {
	api, err := loadAPI()
	if err != nil {
		return nil, err
	}
	s := &subscription{api: api, channel: channel, buf: make([]uint16, 16<<10)}
	flags := uintptr(evtSubscribeStartAtOldestRecord)
	if startAt == StartNow {
		flags = evtSubscribeToFutureEvents
	}
	if bookmark != "" {
		if s.bookmark, err = api.newBookmark(bookmark); err == nil {
			// Not strict: when the bookmarked event is gone (the log
			// was cleared or wrapped), start at the next one there is.
			flags = evtSubscribeStartAfterBookmark
		}
	}
	if s.bookmark == 0 {
		if s.bookmark, err = api.newBookmark(""); err != nil {
			return nil, err
		}
	}
	s.signal, err = windows.CreateEvent(nil, 1, 1, nil) // manual reset, set at first
	if err != nil {
		s.close()
		return nil, fmt.Errorf("winlog: %s: CreateEvent: %w", channel, err)
	}
	ch, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("winlog: channel %q: %w", channel, err)
	}
	q, err := windows.UTF16PtrFromString(query)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("winlog: query %q: %w", query, err)
	}
	bm := uintptr(0)
	if flags == evtSubscribeStartAfterBookmark {
		bm = s.bookmark
	}
	h, _, callErr := api.subscribe.Call(0, uintptr(s.signal), uintptr(unsafe.Pointer(ch)), uintptr(unsafe.Pointer(q)), bm, 0, 0, flags)
	if h == 0 {
		s.close()
		return nil, fmt.Errorf("winlog: EvtSubscribe %s with query %q: %w", channel, query, callErr)
	}
	s.handle = h
	return s, nil
}

func (a *evtAPI) newBookmark(xml string) (uintptr, error) {
	var p *uint16
	if xml != "" {
		var err error
		if p, err = windows.UTF16PtrFromString(xml); err != nil {
			return 0, fmt.Errorf("winlog: bookmark: %w", err)
		}
	}
	h, _, err := a.createBookmark.Call(uintptr(unsafe.Pointer(p)))
	if h == 0 {
		return 0, fmt.Errorf("winlog: EvtCreateBookmark: %w", err)
	}
	return h, nil
}

func (s *subscription) next(ctx context.Context, n int) ([]rendered, string, error) {
	handles := make([]uintptr, n)
	for {
		got, err := s.take(handles)
		if err != nil || len(got) > 0 {
			return got, s.bookmarkXML(got), err
		}
		// Drained: clear the signal, then look once more, for events that
		// came between the last look and the reset.
		if err := windows.ResetEvent(s.signal); err != nil {
			return nil, "", fmt.Errorf("winlog: %s: ResetEvent: %w", s.channel, err)
		}
		if got, err = s.take(handles); err != nil || len(got) > 0 {
			return got, s.bookmarkXML(got), err
		}
		if err := s.wait(ctx); err != nil {
			return nil, "", err
		}
	}
}

// take reads up to len(handles) events without waiting, renders them and
// moves the bookmark past them.
func (s *subscription) take(handles []uintptr) ([]rendered, error) {
	var returned uint32
	ok, _, err := s.api.next.Call(s.handle, uintptr(len(handles)), uintptr(unsafe.Pointer(&handles[0])), 0, 0, uintptr(unsafe.Pointer(&returned)))
	if ok == 0 {
		if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) {
			return nil, nil
		}
		return nil, fmt.Errorf("winlog: %s: EvtNext: %w", s.channel, err)
	}
	out := make([]rendered, 0, returned)
	for _, h := range handles[:returned] {
		xml, err := s.renderString(h, evtRenderEventXML)
		if err != nil {
			err = fmt.Errorf("winlog: %s: EvtRender: %w", s.channel, err)
		}
		out = append(out, rendered{xml: xml, err: err})
		if ok, _, uerr := s.api.updateBookmark.Call(s.bookmark, h); ok == 0 && err == nil {
			out[len(out)-1].err = fmt.Errorf("winlog: %s: EvtUpdateBookmark: %w", s.channel, uerr)
		}
		_, _, _ = s.api.close.Call(h)
	}
	return out, nil
}

// bookmarkXML renders the bookmark after a batch; "" when there is no
// batch or it cannot be rendered (the previous bookmark then stays, and
// at worst a batch is read twice).
func (s *subscription) bookmarkXML(batch []rendered) string {
	if len(batch) == 0 {
		return ""
	}
	xml, err := s.renderString(s.bookmark, evtRenderBookmark)
	if err != nil {
		return ""
	}
	return xml
}

// renderString renders an event or a bookmark as XML.
func (s *subscription) renderString(h uintptr, flags uint32) (string, error) {
	for {
		var used, props uint32
		ok, _, err := s.api.render.Call(0, h, uintptr(flags), uintptr(len(s.buf)*2),
			uintptr(unsafe.Pointer(&s.buf[0])), uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if ok != 0 {
			return windows.UTF16ToString(s.buf[:used/2]), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
			return "", err
		}
		if used > maxRendered {
			return "", fmt.Errorf("rendered event of %d bytes, more than %d", used, maxRendered)
		}
		s.buf = make([]uint16, used/2+1)
	}
}

// wait blocks until the signal is set or ctx ends.
func (s *subscription) wait(ctx context.Context) error {
	for {
		ev, err := windows.WaitForSingleObject(s.signal, uint32(pollInterval/time.Millisecond))
		switch {
		case err != nil:
			return fmt.Errorf("winlog: %s: WaitForSingleObject: %w", s.channel, err)
		case ev == windows.WAIT_OBJECT_0:
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (s *subscription) close() error {
	for _, h := range []uintptr{s.handle, s.bookmark} {
		if h != 0 {
			_, _, _ = s.api.close.Call(h)
		}
	}
	s.handle, s.bookmark = 0, 0
	if s.signal != 0 {
		_ = windows.CloseHandle(s.signal)
		s.signal = 0
	}
	return nil
}
