package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file, served under a content-hashed name so
// that it can be cached forever and a new build is fetched at once.
type asset struct {
	body  []byte
	ctype string
}

var (
	assetsByHashed = map[string]asset{}  // "app.1a2b3c4d.css" → file
	hashedByName   = map[string]string{} // "app.css" → "app.1a2b3c4d.css"
)

func init() {
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, "LICENSE") {
			continue
		}
		body, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		assetsByHashed[hashed] = asset{body: body, ctype: ctype}
		hashedByName[name] = hashed
	}
}

// assetURL returns the content-hashed URL of an embedded static file.
func assetURL(name string) string {
	h, ok := hashedByName[name]
	if !ok {
		panic("web: no static asset " + name)
	}
	return "/static/" + h
}

func serveStatic(c echo.Context) error {
	a, ok := assetsByHashed[c.Param("name")]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such static file")
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, a.ctype, a.body)
}
