namespace Gateway.Connections;

/// <summary>
/// The state other parts keep on a connection (its topic subscriptions, its streams), keyed by type, as
/// <c>HttpContext.Features</c> does: a part registers and reads its own feature, and cleans it up from the
/// connection's closed hook, so the connection never learns a field per part. Made on first use: an idle connection
/// that no part touched holds none.
/// </summary>
public sealed class ConnectionFeatures
{
    // Copy-on-write: a connection carries a handful of features at most, read on every message of the parts that use
    // them and written once each, so readers take no lock.
    private volatile KeyValuePair<Type, object>[] _items = [];

    /// <summary>The feature of type <typeparamref name="T"/>, or null.</summary>
    public T? Get<T>()
        where T : class
    {
        foreach (var item in _items)
        {
            if (item.Key == typeof(T))
            {
                return (T)item.Value;
            }
        }

        return null;
    }

    /// <summary>The first feature that is a <typeparamref name="T"/> (an interface several parts' features may implement), or null.</summary>
    public T? Find<T>()
        where T : class
    {
        foreach (var item in _items)
        {
            if (item.Value is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The feature of type <typeparamref name="T"/>, made by <paramref name="create"/> when there is none (once, however many callers race).</summary>
    public T GetOrAdd<T>(Func<T> create)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(create);
        if (Get<T>() is { } existing)
        {
            return existing;
        }

        var made = create();
        while (true)
        {
            var items = _items;
            foreach (var item in items)
            {
                if (item.Key == typeof(T))
                {
                    return (T)item.Value;
                }
            }

            if (Interlocked.CompareExchange(ref _items, [.. items, new(typeof(T), made)], items) == items)
            {
                return made;
            }
        }
    }

    /// <summary>Sets (or, with null, removes) the feature of type <typeparamref name="T"/>.</summary>
    public void Set<T>(T? value)
        where T : class
    {
        while (true)
        {
            var items = _items;
            var next = items.Where(i => i.Key != typeof(T)).ToList();
            if (value is not null)
            {
                next.Add(new(typeof(T), value));
            }

            if (Interlocked.CompareExchange(ref _items, [.. next], items) == items)
            {
                return;
            }
        }
    }
}
