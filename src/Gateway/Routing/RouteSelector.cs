using System.Text;
using System.Text.Json;

namespace Gateway.Routing;

/// <summary>
/// Evaluates a route selection expression against a message: <c>$request.body.action</c>, nested paths
/// (<c>$request.body.meta.type</c>) and the template form (<c>${request.body.service}/${request.body.action}</c>).
/// One forward pass of <see cref="Utf8JsonReader"/> over the message, no DOM. A string value is unescaped,
/// any other value is its JSON text (<c>null</c> counts as missing), and a missing path is <c>""</c>.
/// The first occurrence of a duplicated property wins. A message that is not a valid JSON document
/// has no route key at all and goes to <c>$default</c>.
/// </summary>
public sealed class RouteSelector
{
    private const string BodyPrefix = "request.body.";

    // A template is literals and paths, in order; Literals[i] precedes Paths[i], Literals[^1] ends it.
    private readonly string[] _literals;
    private readonly byte[][][] _paths;

    private RouteSelector(string expression, string[] literals, byte[][][] paths)
    {
        Expression = expression;
        _literals = literals;
        _paths = paths;
    }

    /// <summary>The expression as configured.</summary>
    public string Expression { get; }

    /// <summary>Parses an expression; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string? expression, out RouteSelector? selector, out string? error)
    {
        selector = null;
        error = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            error = "the route selection expression is empty";
            return false;
        }

        var literals = new List<string>();
        var paths = new List<byte[][]>();
        if (!expression.Contains("${", StringComparison.Ordinal))
        {
            // The plain form: the whole expression is one reference.
            if (!expression.StartsWith('$') || !TryParsePath(expression[1..], out var path, out error))
            {
                error ??= $"'{expression}' is neither $request.body.<path> nor a template of ${{request.body.<path>}} parts";
                return false;
            }

            selector = new RouteSelector(expression, ["", ""], [path]);
            return true;
        }

        var literal = new StringBuilder();
        for (var i = 0; i < expression.Length; i++)
        {
            if (expression[i] == '$' && i + 1 < expression.Length && expression[i + 1] == '{')
            {
                var end = expression.IndexOf('}', i + 2);
                if (end < 0)
                {
                    error = $"'{expression}' has a '${{' without its closing '}}'";
                    return false;
                }

                if (!TryParsePath(expression[(i + 2)..end], out var path, out error))
                {
                    return false;
                }

                literals.Add(literal.ToString());
                literal.Clear();
                paths.Add(path);
                i = end;
            }
            else
            {
                literal.Append(expression[i]);
            }
        }

        literals.Add(literal.ToString());
        selector = new RouteSelector(expression, [.. literals], [.. paths]);
        return true;
    }

    private static bool TryParsePath(string reference, out byte[][] path, out string? error)
    {
        path = [];
        error = null;
        if (!reference.StartsWith(BodyPrefix, StringComparison.Ordinal) || reference.Length == BodyPrefix.Length)
        {
            error = $"'{reference}' must be request.body.<path>: routes are selected from the message body";
            return false;
        }

        var segments = reference[BodyPrefix.Length..].Split('.');
        if (segments.Any(string.IsNullOrEmpty))
        {
            error = $"'{reference}' has an empty path segment";
            return false;
        }

        path = [.. segments.Select(Encoding.UTF8.GetBytes)];
        return true;
    }

    /// <summary>The route key for <paramref name="utf8Json"/>, or null when it is not a JSON document.</summary>
    public string? Select(ReadOnlySpan<byte> utf8Json)
    {
        Span<char> buffer = stackalloc char[256];
        var length = Evaluate(utf8Json, buffer);
        if (length == NotJson)
        {
            return null;
        }

        if (length >= 0)
        {
            return new string(buffer[..length]);
        }

        var large = new char[-length];
        return new string(large, 0, Evaluate(utf8Json, large));
    }

    /// <summary>Returned by <see cref="Evaluate"/> when the message is not a JSON document.</summary>
    public const int NotJson = int.MinValue;

    /// <summary>
    /// Writes the route key into <paramref name="destination"/> and returns its length; <see cref="NotJson"/>
    /// when the message is not JSON; the negated length needed when <paramref name="destination"/> is too small.
    /// </summary>
    public int Evaluate(ReadOnlySpan<byte> utf8Json, Span<char> destination)
    {
        // Cheap reject of plain text (the common wscat case) before the reader throws on it.
        var start = utf8Json.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || utf8Json[start] != (byte)'{')
        {
            return start >= 0 && utf8Json[start] == (byte)'[' && IsJson(utf8Json) ? AssembleMissing(destination) : NotJson;
        }

        Span<Capture> captures = stackalloc Capture[_paths.Length];
        Span<int> matched = stackalloc int[_paths.Length];
        Span<bool> hits = stackalloc bool[_paths.Length];
        captures.Fill(new Capture { PendingDepth = -1 });
        matched.Clear();

        // Every token is visited once and nothing is skipped, so paths that share a prefix (a.b and a,
        // or one path twice) each see the whole document: a container value is captured from its start
        // token to its end token as the walk passes them.
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        var depth = reader.CurrentDepth;
                        for (var p = 0; p < _paths.Length; p++)
                        {
                            if (captures[p].PendingDepth == depth)
                            {
                                captures[p].End((int)reader.BytesConsumed);
                            }

                            if (reader.TokenType == JsonTokenType.EndObject && depth > 0 && matched[p] == depth)
                            {
                                matched[p] = depth - 1;
                            }
                        }

                        continue;
                    case JsonTokenType.PropertyName:
                        break;
                    default:
                        continue;
                }

                // A property at depth L continues path p when p's first L-1 segments are the open objects above it.
                var level = reader.CurrentDepth;
                var any = false;
                for (var p = 0; p < _paths.Length; p++)
                {
                    var path = _paths[p];
                    hits[p] = !captures[p].Found && matched[p] == level - 1 && level <= path.Length && reader.ValueTextEquals(path[level - 1]);
                    any |= hits[p];
                }

                if (!any)
                {
                    continue;
                }

                reader.Read();
                for (var p = 0; p < _paths.Length; p++)
                {
                    if (!hits[p])
                    {
                        continue;
                    }

                    if (level == _paths[p].Length)
                    {
                        captures[p] = Capture.Of(ref reader);
                    }
                    else if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        matched[p] = level;
                    }
                }
            }
        }
        catch (JsonException)
        {
            return NotJson;
        }

        try
        {
            return Assemble(utf8Json, captures, destination);
        }
        catch (InvalidOperationException)
        {
            // A string that cannot be text, such as a lone surrogate escape ("\uD800"): not a usable key.
            return NotJson;
        }
    }

    private static bool IsJson(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private int AssembleMissing(Span<char> destination) =>
        Assemble(default, stackalloc Capture[_paths.Length], destination);

    private int Assemble(ReadOnlySpan<byte> json, ReadOnlySpan<Capture> captures, Span<char> destination)
    {
        var needed = 0;
        for (var i = 0; i < _paths.Length; i++)
        {
            needed += _literals[i].Length + captures[i].MaxChars;
        }

        needed += _literals[^1].Length;
        if (needed > destination.Length)
        {
            return -needed;
        }

        var written = 0;
        for (var i = 0; i < _paths.Length; i++)
        {
            _literals[i].AsSpan().CopyTo(destination[written..]);
            written += _literals[i].Length;
            written += captures[i].CopyTo(json, destination[written..]);
        }

        _literals[^1].AsSpan().CopyTo(destination[written..]);
        return written + _literals[^1].Length;
    }

    /// <summary>Where a selected value sits in the message.</summary>
    private struct Capture
    {
        public bool Found;
        public int PendingDepth;
        private int _start;
        private int _length;
        private bool _escapedString;

        public readonly int MaxChars => Found ? _length : 0;

        public static Capture Of(ref Utf8JsonReader reader)
        {
            var start = (int)reader.TokenStartIndex;
            return reader.TokenType switch
            {
                // Span excludes the quotes; escaped text is unescaped when copied.
                JsonTokenType.String => new Capture { Found = true, PendingDepth = -1, _start = start + 1, _length = reader.ValueSpan.Length, _escapedString = reader.ValueIsEscaped },
                JsonTokenType.Null => new Capture { Found = true, PendingDepth = -1 },

                // A container's length is known when the walk reaches its end token at the same depth.
                JsonTokenType.StartObject or JsonTokenType.StartArray => new Capture { Found = true, PendingDepth = reader.CurrentDepth, _start = start },
                _ => new Capture { Found = true, PendingDepth = -1, _start = start, _length = reader.ValueSpan.Length },
            };
        }

        public void End(int bytesConsumed)
        {
            _length = bytesConsumed - _start;
            PendingDepth = -1;
        }

        public readonly int CopyTo(ReadOnlySpan<byte> json, Span<char> destination)
        {
            if (!Found || _length == 0)
            {
                return 0;
            }

            if (!_escapedString)
            {
                return Encoding.UTF8.GetChars(json.Slice(_start, _length), destination);
            }

            var reader = new Utf8JsonReader(json.Slice(_start - 1, _length + 2));
            reader.Read();
            return reader.CopyString(destination);
        }
    }
}
