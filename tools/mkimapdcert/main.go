// Mkimapdcert creates a self-signed certificate and its private key in one
// PEM file, for the IMAP server's TLS: Kurier's version of Courier's
// mkimapdcert.
//
// Usage:
//
//	mkimapdcert [-f FILE] [-cn NAME] [-days N]
//
// The file is $KURIER_CONFDIR/imapd.pem by default (/etc/courier/imapd.pem,
// Courier's TLS_CERTFILE default). As Courier's tool does, it never
// overwrites an existing file: it says so and exits 0, so the command is
// safe in a package's postinst. The file is created with mode 0600 (the TLS
// service refuses a key readable by others); when run as root and a user
// "courier" exists, the file is given to that user, which the TLS service
// runs as. The key is ECDSA P-256; the name defaults to the host name.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	dir := os.Getenv("KURIER_CONFDIR")
	if dir == "" {
		dir = "/etc/courier"
	}
	host, _ := os.Hostname()
	file := flag.String("f", filepath.Join(dir, "imapd.pem"), "certificate `file` to create")
	cn := flag.String("cn", host, "certificate's common and DNS `name`")
	days := flag.Int("days", 365, "validity in `days`")
	flag.Parse()
	if err := create(*file, *cn, *days); err != nil {
		if errors.Is(err, fs.ErrExist) {
			fmt.Fprintf(os.Stderr, "mkimapdcert: %s already exists, not overwritten\n", *file)
			return
		}
		fmt.Fprintln(os.Stderr, "mkimapdcert:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mkimapdcert: created %s for %s\n", *file, *cn)
}

func create(path, cn string, days int) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, OrganizationalUnit: []string{"Automatically-generated IMAP SSL key"}},
		DNSNames:     []string{cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().AddDate(0, 0, days),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// O_EXCL: never overwrite, even if the file appears meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("courier"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			os.Chown(path, uid, gid)
		}
	}
	return nil
}
