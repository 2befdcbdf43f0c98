using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Management;

/// <summary>
/// Endpoint filters taken once from the container when the endpoint is built. <c>AddEndpointFilter&lt;T&gt;()</c>
/// makes a new filter for every request, resolving its services each time; the management filters hold nothing of a
/// request, and a push is the hot path of the management API.
/// </summary>
internal static class SingletonFilterExtensions
{
    /// <summary>Adds <typeparamref name="TFilter"/>, registered as a singleton, as a filter of the builder's endpoints.</summary>
    public static TBuilder AddSingletonFilter<TBuilder, TFilter>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
        where TFilter : IEndpointFilter =>
        builder.AddEndpointFilterFactory((context, next) =>
        {
            var filter = context.ApplicationServices.GetRequiredService<TFilter>();
            return invocation => filter.InvokeAsync(invocation, next);
        });
}
