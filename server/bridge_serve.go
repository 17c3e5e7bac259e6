package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// bridgeFlags are serve's flags for the TAP bridge.
type bridgeFlags struct {
	tap       string
	tokenFile string
	origins   []string
	isolate   bool
	rate      float64
}

func addBridgeFlags(fs *flag.FlagSet) *bridgeFlags {
	f := &bridgeFlags{}
	fs.StringVar(&f.tap, "tap", "", "bridge this existing TAP device at /bridge (off without it)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bridge token (else $SKBSCOPE_BRIDGE_TOKEN, else a random one, printed)")
	fs.Func("allow-origin", "also admit WebSocket clients from this origin, e.g. https://example.org (repeatable)", func(s string) error {
		f.origins = append(f.origins, s)
		return nil
	})
	fs.BoolVar(&f.isolate, "isolate", false, "clients reach only the TAP, never each other")
	fs.Float64Var(&f.rate, "rate", 10000, "frames per second accepted from each client (0: unlimited)")
	return f
}

// open attaches the TAP and starts the bridge; without -tap it returns nil.
// The token comes from -token-file, the environment, or is made here;
// generated reports that it must be shown to the user.
func (f *bridgeFlags) open() (b *bridge, token string, generated bool, err error) {
	if f.tap == "" {
		return nil, "", false, nil
	}
	switch {
	case f.tokenFile != "":
		p, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, "", false, err
		}
		if token = strings.TrimSpace(string(p)); token == "" {
			return nil, "", false, fmt.Errorf("token file %s is empty", f.tokenFile)
		}
	case os.Getenv("SKBSCOPE_BRIDGE_TOKEN") != "":
		token = os.Getenv("SKBSCOPE_BRIDGE_TOKEN")
	default:
		token, generated = rand.Text(), true
	}
	if f.rate < 0 {
		return nil, "", false, errors.New("-rate must not be negative")
	}
	tap, mtu, err := openTAP(f.tap)
	if err != nil {
		return nil, "", false, err
	}
	b, err = newBridge(tap, bridgeOptions{Token: token, AllowOrigins: f.origins, Isolate: f.isolate, Rate: f.rate, MTU: mtu})
	if err != nil {
		tap.Close()
		return nil, "", false, err
	}
	return b, token, generated, nil
}

// announce tells the user where the bridge is, and the page's URL for
// live mode, with the token only if it was made here (a token from a file
// or the environment stays secret). The page takes the token from the
// URL's fragment, which a browser never sends to a server.
func (f *bridgeFlags) announce(w io.Writer, addr net.Addr, token string, generated bool) {
	if generated {
		fmt.Fprintf(w, "skbscope: bridge to TAP %s at ws://%s/bridge?token=%s\n", f.tap, addr, token)
		fmt.Fprintf(w, "skbscope: live mode: open http://%s/#live&token=%s\n", addr, token)
		return
	}
	from := f.tokenFile
	if from == "" {
		from = "$SKBSCOPE_BRIDGE_TOKEN"
	}
	fmt.Fprintf(w, "skbscope: bridge to TAP %s at ws://%s/bridge (token from %s)\n", f.tap, addr, from)
	fmt.Fprintf(w, "skbscope: live mode: open http://%s/#live&token=TOKEN\n", addr)
}
