// Userdbpw reads a password and prints its hash for a userdb password field,
// with the command line of Courier's userdbpw.
//
// Usage:
//
//	userdbpw [-md5 | -sha512 | -hmac-md5 | -hmac-sha1 | -hmac-sha256]
//	userdbpw | userdb alice set systempw
//
// Without an option the hash is libcrypt's preferred method (yescrypt on
// Debian 12), where Courier's default is the long-obsolete traditional DES
// crypt; -md5 gives md5-crypt ($1$) and -sha512 sha512-crypt ($6$), for
// readers older than libxcrypt. -hmac-md5, -hmac-sha1 and -hmac-sha256 print
// the secret for the hmac-md5pw, hmac-sha1pw and hmac-sha256pw fields that
// CRAM-MD5, CRAM-SHA1 and CRAM-SHA256 logins check (the same value Courier's
// userdbpw prints).
//
// On a terminal the password is asked twice with echo off; otherwise one
// line is read from standard input. Exit status 1 if the two entries differ
// or the password is empty.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"kurier/pkg/authmod"
	"kurier/pkg/authmod/crypt"
)

func main() {
	md5 := flag.Bool("md5", false, "md5-crypt ($1$)")
	sha512 := flag.Bool("sha512", false, "sha512-crypt ($6$)")
	hmacMD5 := flag.Bool("hmac-md5", false, "CRAM-MD5 secret (hmac-md5pw)")
	hmacSHA1 := flag.Bool("hmac-sha1", false, "CRAM-SHA1 secret (hmac-sha1pw)")
	hmacSHA256 := flag.Bool("hmac-sha256", false, "CRAM-SHA256 secret (hmac-sha256pw)")
	flag.Parse()
	pw, err := readPassword()
	if err != nil {
		fmt.Fprintln(os.Stderr, "userdbpw:", err)
		os.Exit(1)
	}
	var out string
	switch {
	case *hmacMD5:
		out, err = authmod.CRAMSecret("md5", pw)
	case *hmacSHA1:
		out, err = authmod.CRAMSecret("sha1", pw)
	case *hmacSHA256:
		out, err = authmod.CRAMSecret("sha256", pw)
	default:
		prefix := ""
		if *md5 {
			prefix = "$1$"
		} else if *sha512 {
			prefix = "$6$"
		}
		var salt string
		salt, err = crypt.GenSalt(prefix)
		if err == nil {
			out, err = crypt.Crypt(pw, salt)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "userdbpw:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

// readPassword asks twice with echo off on a terminal, or reads one line.
func readPassword() (string, error) {
	fd := int(os.Stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil { // not a terminal
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("no password on standard input")
		}
		return checked(strings.TrimRight(line, "\r\n"))
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ECHONL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	in := bufio.NewReader(os.Stdin)
	fmt.Fprint(os.Stderr, "Password: ")
	first, err1 := in.ReadString('\n')
	fmt.Fprint(os.Stderr, "Reenter password: ")
	second, err2 := in.ReadString('\n')
	if err1 != nil || err2 != nil {
		return "", errors.New("no password entered")
	}
	if first != second {
		return "", errors.New("the passwords do not match")
	}
	return checked(strings.TrimRight(first, "\r\n"))
}

func checked(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}
