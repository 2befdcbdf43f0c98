using Microsoft.Extensions.Configuration.Json;

namespace Gateway.Server;

/// <summary>
/// The <c>GATEWAY_SETTINGS</c> file, watched for changes. An editor or a script that saves by truncating and writing
/// leaves the file empty for a moment; the file watcher may read it then, and JSON configuration takes an empty file as
/// an empty configuration, which would reload the gateway without its routes. An empty file seen on a reload therefore
/// keeps the values read before; the write that follows announces the new ones.
/// </summary>
internal sealed class SettingsFileSource : JsonConfigurationSource
{
    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new Provider(this);
    }

    private sealed class Provider(JsonConfigurationSource source) : JsonConfigurationProvider(source)
    {
        private bool _loaded;

        public override void Load(Stream stream)
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var blank = buffer.ToArray().All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n');
            if (_loaded && blank)
            {
                return;
            }

            buffer.Position = 0;
            base.Load(buffer);
            _loaded = true;
        }
    }
}
