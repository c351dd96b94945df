// go-tls-server: a TLS 1.3 echo server on Go's crypto/tls (standard library only), an interop
// peer for Overture's post-quantum and ECH tests.
//
//	go build -o go-tls-server tests/peers/go-tls-server.go     (GOTOOLCHAIN=local, Go >= 1.24)
//	go-tls-server -cert chain.pem -key key.pem [-addr 127.0.0.1:0] [-groups X25519MLKEM768,x25519]
//	              [-ech-config-out ech.list -ech-public-name public.example]
//	              [-ech-stale-config-out stale.list] [-request-client-cert]
//
// On stdout, one line per event (scripts and tests read them; keep them stable):
//
//	ACCEPT 127.0.0.1:PORT                                   listening
//	ECH config_id=N public_name=NAME file=PATH               an ECHConfigList was written
//	HANDSHAKE group=NAME group_id=0xNNNN version=TLS1.3 resumed=BOOL ech=BOOL server_name=NAME alpn=P client_certs=N
//	ERROR <message>                                          a failed handshake
//
// With -ech-config-out the server generates an X25519 HPKE key pair, serves ECH with it and
// writes the ECHConfigList (RFC 9849 §4: the wire form a client's config takes) to the file.
// -ech-stale-config-out also writes a list for a second key the server does NOT hold, as after
// a key rotation: a client using it is rejected and gets the real config as retry_configs.
// server_name is the SNI the handshake completed with: the inner ClientHello's when ECH was
// accepted. client_certs is how many certificates the client sent (-request-client-cert asks
// for them without verifying). Each connection echoes what it reads until the client closes.
package main

import (
	"bufio"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func report(format string, args ...any) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintf(out.w, format+"\n", args...)
	out.w.Flush()
}

// groupNames maps IANA names (as Overture and OpenSSL spell them) to Go's CurveIDs.
var groupNames = map[string]tls.CurveID{
	"x25519":            tls.X25519,
	"secp256r1":         tls.CurveP256,
	"secp384r1":         tls.CurveP384,
	"secp521r1":         tls.CurveP521,
	"X25519MLKEM768":    tls.X25519MLKEM768,
	"SecP256r1MLKEM768": tls.CurveID(0x11eb),
}

func groupName(id tls.CurveID) string {
	for name, v := range groupNames {
		if v == id {
			return name
		}
	}
	return fmt.Sprintf("unknown(0x%04x)", uint16(id))
}

// echConfig encodes one ECHConfig (version 0xfe0d) for an X25519 key, offering HKDF-SHA256
// with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305.
func echConfig(configID uint8, publicKey []byte, publicName string) []byte {
	var c []byte
	c = append(c, configID)
	c = binary.BigEndian.AppendUint16(c, 0x0020) // DHKEM(X25519, HKDF-SHA256)
	c = binary.BigEndian.AppendUint16(c, uint16(len(publicKey)))
	c = append(c, publicKey...)
	suites := [][2]uint16{{0x0001, 0x0001}, {0x0001, 0x0002}, {0x0001, 0x0003}}
	c = binary.BigEndian.AppendUint16(c, uint16(4*len(suites)))
	for _, s := range suites {
		c = binary.BigEndian.AppendUint16(c, s[0])
		c = binary.BigEndian.AppendUint16(c, s[1])
	}
	c = append(c, 0) // maximum_name_length: let the client pad as it sees fit
	c = append(c, uint8(len(publicName)))
	c = append(c, publicName...)
	c = binary.BigEndian.AppendUint16(c, 0) // no extensions
	var config []byte
	config = binary.BigEndian.AppendUint16(config, 0xfe0d)
	config = binary.BigEndian.AppendUint16(config, uint16(len(c)))
	return append(config, c...)
}

func echConfigList(configs ...[]byte) []byte {
	var body []byte
	for _, c := range configs {
		body = append(body, c...)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-tls-server: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	certFile := flag.String("cert", "", "certificate chain (PEM, leaf first)")
	keyFile := flag.String("key", "", "private key (PEM)")
	groups := flag.String("groups", "", "comma-separated groups in preference order (default: Go's)")
	echOut := flag.String("ech-config-out", "", "serve ECH and write its ECHConfigList here")
	echStaleOut := flag.String("ech-stale-config-out", "", "write an ECHConfigList for a key the server does not hold")
	publicName := flag.String("ech-public-name", "public.example", "the ECHConfig's public_name")
	alpn := flag.String("alpn", "", "comma-separated ALPN protocols")
	requestClientCert := flag.Bool("request-client-cert", false, "send a CertificateRequest (any certificate, or none, is accepted)")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fail("loading the certificate: %v", err)
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if *groups != "" {
		for _, name := range strings.Split(*groups, ",") {
			id, ok := groupNames[name]
			if !ok {
				fail("unknown group %q", name)
			}
			config.CurvePreferences = append(config.CurvePreferences, id)
		}
	}
	if *alpn != "" {
		config.NextProtos = strings.Split(*alpn, ",")
	}
	if *requestClientCert {
		config.ClientAuth = tls.RequestClientCert
	}
	if *echOut != "" {
		key, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			fail("ECH key: %v", err)
		}
		const configID = 7
		ech := echConfig(configID, key.PublicKey().Bytes(), *publicName)
		config.EncryptedClientHelloKeys = []tls.EncryptedClientHelloKey{{
			Config:      ech,
			PrivateKey:  key.Bytes(),
			SendAsRetry: true,
		}}
		if err := os.WriteFile(*echOut, echConfigList(ech), 0o644); err != nil {
			fail("writing %s: %v", *echOut, err)
		}
		report("ECH config_id=%d public_name=%s file=%s", configID, *publicName, *echOut)
		if *echStaleOut != "" {
			stale, err := ecdh.X25519().GenerateKey(rand.Reader)
			if err != nil {
				fail("ECH key: %v", err)
			}
			list := echConfigList(echConfig(configID+1, stale.PublicKey().Bytes(), *publicName))
			if err := os.WriteFile(*echStaleOut, list, 0o644); err != nil {
				fail("writing %s: %v", *echStaleOut, err)
			}
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail("listen: %v", err)
	}
	report("ACCEPT %s", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			fail("accept: %v", err)
		}
		go serve(tls.Server(conn, config))
	}
}

func serve(conn *tls.Conn) {
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		report("ERROR %v", err)
		return
	}
	cs := conn.ConnectionState()
	version := map[uint16]string{tls.VersionTLS12: "TLS1.2", tls.VersionTLS13: "TLS1.3"}[cs.Version]
	report("HANDSHAKE group=%s group_id=0x%04x version=%s resumed=%t ech=%t server_name=%s alpn=%s client_certs=%d",
		groupName(cs.CurveID), uint16(cs.CurveID), version, cs.DidResume, cs.ECHAccepted,
		cs.ServerName, cs.NegotiatedProtocol, len(cs.PeerCertificates))
	io.Copy(conn, conn)
}
