package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Limits of a saved view.
const (
	maxViewName = 100
	maxViewURL  = 4000
	maxViewSlug = 60
)

// viewPages are the dashboard pages a saved view may show; /stop-reasons/
// takes any key after it.
var viewPages = []string{"/", "/responses", "/compare", "/empty-turns", "/refusals", "/truncation", "/agent-runs"}

// slugOf makes a view's slug from its name: lower-case letters and digits,
// other runs turned into one hyphen.
func slugOf(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			if b.Len() >= maxViewSlug {
				break
			}
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "view"
	}
	return b.String()
}

// checkView checks a view to be saved and returns it with its slug and its
// URL made canonical: a dashboard page (viewPages), with a query that page
// accepts, so that a saved view can neither lead off the site nor fail.
func (s *Server) checkView(name, raw string) (store.SavedView, error) {
	var v store.SavedView
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxViewName || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return v, analytics.Errorf(analytics.EInvalid, "parameter name: a view needs a name of 1 to %d characters, without control characters", maxViewName)
	}
	if len(raw) > maxViewURL {
		return v, analytics.Errorf(analytics.EInvalid, "parameter url: longer than %d bytes", maxViewURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || (!u.IsAbs() && u.Host != "") {
		return v, analytics.Errorf(analytics.EInvalid, "parameter url: %q is not a dashboard URL such as /compare?a.model=x&b.model=y", raw)
	}
	// A pasted address bar: only the path and query are kept.
	page := u.Path
	if !strings.HasPrefix(page, "/stop-reasons/") && !slices.Contains(viewPages, page) {
		return v, analytics.Errorf(analytics.EInvalid, "parameter url: %s is not a page a view can show (one of %s, /stop-reasons/…)", page, strings.Join(viewPages, ", "))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return v, analytics.Errorf(analytics.EInvalid, "parameter url: the query does not parse: %v", err)
	}
	q.Del("cursor")
	if page == "/compare" {
		_, _, err = s.parseComparison(q)
	} else {
		_, err = s.filterOf(q)
	}
	if err != nil {
		return v, analytics.Errorf(analytics.EInvalid, "parameter url: %s", analytics.ErrorMessage(err))
	}
	v.Name, v.Slug, v.URL = name, slugOf(name), page
	if len(q) > 0 {
		v.URL += "?" + q.Encode()
	}
	v.Created = s.Now().UTC()
	return v, nil
}

// viewJSON is a saved view in the API, with its shareable link.
type viewJSON struct {
	store.SavedView
	Link string `json:"link"`
}

func viewLink(slug string) string { return "/v/" + url.PathEscape(slug) }

func viewDeleteLink(slug string) string { return "/views/" + url.PathEscape(slug) + "/delete" }

func toViewJSON(v store.SavedView) viewJSON { return viewJSON{SavedView: v, Link: viewLink(v.Slug)} }

// registerViews adds the saved view API, /v/<slug>, the Views page and its
// forms when the server has a view store.
func (s *Server) registerViews(e *echo.Echo, api *echo.Group) {
	if s.Views == nil {
		return
	}
	api.GET("/views", s.apiViews)
	api.POST("/views", s.apiCreateView)
	api.GET("/views/:slug", s.apiView)
	api.DELETE("/views/:slug", s.apiDeleteView)
	e.GET("/v/:slug", s.goView)
	e.GET("/views", s.pageViews)
	e.POST("/views", s.formCreateView)
	e.POST("/views/:slug/delete", s.formDeleteView)
}

func (s *Server) apiViews(c echo.Context) error {
	vs, err := s.Views.ListSavedViews(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]viewJSON, len(vs))
	for i, v := range vs {
		items[i] = toViewJSON(v)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *Server) apiView(c echo.Context) error {
	v, err := s.Views.GetSavedView(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toViewJSON(v))
}

// apiCreateView answers POST /api/v1/views: {"name": …, "url": …}.
func (s *Server) apiCreateView(c echo.Context) error {
	b, err := readBody(c)
	if err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return analytics.Errorf(analytics.EInvalid, "the body is not a JSON object {\"name\": …, \"url\": …}: %v", err)
	}
	v, err := s.createView(c.Request().Context(), in.Name, in.URL)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toViewJSON(v))
}

func (s *Server) createView(ctx context.Context, name, raw string) (store.SavedView, error) {
	v, err := s.checkView(name, raw)
	if err != nil {
		return v, err
	}
	return s.Views.CreateSavedView(ctx, v)
}

func (s *Server) apiDeleteView(c echo.Context) error {
	if err := s.Views.DeleteSavedView(c.Request().Context(), c.Param("slug")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// goView serves /v/<slug>: a redirect to the view's page, so that the
// address bar shows the filters and they can be changed from there.
func (s *Server) goView(c echo.Context) error {
	v, err := s.Views.GetSavedView(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, v.URL)
}

// viewsData is what the Views page shows.
type viewsData struct {
	Views []store.SavedView
}

func (s *Server) pageViews(c echo.Context) error {
	vs, err := s.Views.ListSavedViews(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, viewsPage(viewsData{Views: vs}))
}

// formCreateView is the "Save this view" form: name and url; it leads to
// the view's own link.
func (s *Server) formCreateView(c echo.Context) error {
	v, err := s.createView(c.Request().Context(), c.FormValue("name"), c.FormValue("url"))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/views#view-"+url.PathEscape(v.Slug))
}

func (s *Server) formDeleteView(c echo.Context) error {
	if err := s.Views.DeleteSavedView(c.Request().Context(), c.Param("slug")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/views")
}

// viewsKey holds, in a request's context, what lists the saved views for
// the navigation.
type viewsCtxKey struct{}

// withViews puts a lister of the saved views in every request's context;
// the layout calls it, so that only pages read the store.
func (s *Server) withViews(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		list := func() []store.SavedView {
			vs, err := s.Views.ListSavedViews(r.Context())
			if err != nil {
				s.Logger.Error("listing saved views for the navigation", "err", err)
				return nil
			}
			return vs
		}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), viewsCtxKey{}, list)))
		return next(c)
	}
}

// navViews returns the saved views for the navigation; ok is false when
// the server keeps none.
func navViews(ctx context.Context) (views []store.SavedView, ok bool) {
	list, ok := ctx.Value(viewsCtxKey{}).(func() []store.SavedView)
	if !ok {
		return nil, false
	}
	return list(), true
}
