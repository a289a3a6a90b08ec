namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Headers on every answer, errors included: an API that serves only JSON (and CSV) should never be
/// sniffed as HTML, framed, cached by intermediaries or given a referrer. The dashboard's pages are the one
/// exception, and a narrow one: they may load their own scripts, styles and images and call their own API
/// ('self', nothing inline, nothing from elsewhere), and their files may be cached as the endpoint says.
/// </summary>
public static class SecurityHeaders
{
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'";

    public const string DashboardPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                var isDashboard = context.Request.Path.StartsWithSegments(Dashboard.DashboardEndpoints.RoutePrefix, StringComparison.Ordinal);
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers.ContentSecurityPolicy = isDashboard ? DashboardPolicy : ApiPolicy;
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";

                // The dashboard endpoint chooses the caching of the files it serves; everything else, errors included, is never stored.
                var isDashboardFile = isDashboard
                    && context.Response.StatusCode is StatusCodes.Status200OK or StatusCodes.Status304NotModified
                    && !string.IsNullOrEmpty(headers.CacheControl);
                if (!isDashboardFile)
                {
                    headers.CacheControl = "no-store";
                }

                if (context.Request.IsHttps)
                {
                    headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
                }

                return Task.CompletedTask;
            });
            return next(context);
        });
}
