using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Gateway.Configuration;

/// <summary>
/// Finds the configuration values that cannot become the type of the option they set (<c>IdleTimeout=banana</c>), so
/// that they are reported with every other configuration error instead of ending the process with the binder's
/// exception; and binds the rest.
/// </summary>
public static class ConfigurationValues
{
    /// <summary>One line per value that does not convert: its key, the value, and the form expected.</summary>
    public static IReadOnlyList<string> FindErrors(IConfiguration configuration, Type optionsType)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(optionsType);
        var errors = new List<string>();
        foreach (var child in configuration.GetChildren())
        {
            WalkMember(child, optionsType, errors, depth: 0);
        }

        return errors;
    }

    /// <summary>
    /// Binds <paramref name="configuration"/> to <paramref name="options"/>, leaving out the values that
    /// <see cref="FindErrors"/> reports (they keep their defaults), and returns those errors.
    /// </summary>
    public static IReadOnlyList<string> Bind(IConfiguration configuration, object options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var errors = FindErrors(configuration, options.GetType());
        if (errors.Count == 0)
        {
            configuration.Bind(options);
            return errors;
        }

        // The process will not start with these errors; binding the good values still lets the validator report the
        // other problems at the same time.
        var bad = new HashSet<string>(errors.Select(KeyOf), StringComparer.OrdinalIgnoreCase);
        var prefix = configuration is IConfigurationSection section ? section.Path + ":" : "";
        var good = configuration.AsEnumerable()
            .Where(pair => pair.Value is not null && !bad.Contains(pair.Key))
            .Where(pair => prefix.Length == 0 || pair.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(pair => new KeyValuePair<string, string?>(pair.Key[prefix.Length..], pair.Value));
        new ConfigurationBuilder().AddInMemoryCollection(good).Build().Bind(options);
        return errors;
    }

    private static string KeyOf(string error) => error[..error.IndexOf(": ", StringComparison.Ordinal)];

    private static void WalkMember(IConfigurationSection section, Type owner, List<string> errors, int depth)
    {
        var property = owner.GetProperty(section.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || property.GetIndexParameters().Length > 0)
        {
            // Unknown keys are ignored, as the binder ignores them.
            return;
        }

        Walk(section, property.PropertyType, errors, depth + 1);
    }

    private static void Walk(IConfigurationSection section, Type type, List<string> errors, int depth)
    {
        if (depth > 32)
        {
            return;
        }

        var nullable = Nullable.GetUnderlyingType(type);
        type = nullable ?? type;
        if (IsScalar(type))
        {
            // An empty value makes a nullable option null; any other type must convert it, as the binder does.
            if (section.Value is { } value && !(nullable is not null && value.Length == 0) && !Converts(type, value))
            {
                errors.Add($"{section.Path}: '{value}' is not {Expected(type)}.");
            }

            return;
        }

        var element = ElementType(type);
        if (element is not null)
        {
            foreach (var child in section.GetChildren())
            {
                Walk(child, element, errors, depth + 1);
            }

            return;
        }

        if (type.IsClass && type != typeof(object))
        {
            foreach (var child in section.GetChildren())
            {
                WalkMember(child, type, errors, depth);
            }
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);

    /// <summary>The element type of an array, list or set, or the value type of a dictionary with string keys.</summary>
    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        var dictionary = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }

        var enumerable = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    // The binder converts with the type's TypeConverter and the invariant culture; so does this check, so that what
    // it accepts binds and what it refuses would have stopped the binder.
    private static bool Converts(Type type, string value)
    {
        if (type == typeof(string))
        {
            return true;
        }

        try
        {
            TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException or NotSupportedException or InvalidCastException or UriFormatException)
        {
            return false;
        }
    }

    private static string Expected(Type type) => type switch
    {
        _ when type == typeof(TimeSpan) => "a time span: write hh:mm:ss, for example 00:10:00 (d.hh:mm:ss for days)",
        _ when type == typeof(bool) => "true or false",
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
        _ when type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
            || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(sbyte)
            => string.Create(CultureInfo.InvariantCulture, $"a whole number (at most {MaxOf(type)})"),
        _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number, for example 1.5",
        _ when type == typeof(Uri) => "a URL, for example http://backend:3000/",
        _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "a date and time, for example 2026-01-01T00:00:00Z",
        _ => "a " + type.Name,
    };

    private static object? MaxOf(Type type) => type.GetField("MaxValue", BindingFlags.Public | BindingFlags.Static)?.GetValue(null);
}
