package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
)

// corsFor lets pages of the given origins (a web console, a WebView app
// served from another origin) call the API. A preflight (OPTIONS with
// Access-Control-Request-Method) is answered 204 before routing, with
// Access-Control-Allow-Origin only for an allowed origin; a browser
// refuses the request when it is missing. Tokens travel in the
// Authorization header, not in cookies, so no credentials are allowed.
func corsFor(origins []string) fiber.Handler {
	return cors.New(cors.Config{
		AllowOrigins:  strings.Join(origins, ","),
		AllowMethods:  "GET,POST,PUT,PATCH,HEAD",
		AllowHeaders:  "Authorization,Content-Type,Accept-Encoding,X-Request-ID",
		ExposeHeaders: "X-Request-ID,Retry-After,ETag,Content-Disposition",
		MaxAge:        600,
	})
}
