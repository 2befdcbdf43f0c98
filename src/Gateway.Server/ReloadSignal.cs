using System.Runtime.InteropServices;

namespace Gateway.Server;

/// <summary>
/// SIGHUP loads the configuration again (every settings file, environment variables and arguments are read anew), as
/// operators expect of a server: the gateway then takes the new values when they are valid and keeps its last good
/// ones otherwise. Needed where a file watcher misses a change (a Kubernetes ConfigMap swaps a symlink; some network and
/// container file systems send no events).
/// </summary>
internal static partial class ReloadSignal
{
    public static PosixSignalRegistration? Register(WebApplication app)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var configuration = (IConfigurationRoot)app.Configuration;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Server.ReloadSignal");
        return PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            // SIGHUP would end the process otherwise.
            context.Cancel = true;
            Log.Received(logger);
            try
            {
                configuration.Reload();
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException or UnauthorizedAccessException)
            {
                // A settings file that cannot be read or parsed: nothing is reloaded, the last good configuration stays.
                Log.ReadFailed(logger, ex.Message, ex.GetBaseException().Message);
            }
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1804, Level = LogLevel.Information, Message = "SIGHUP received: loading the configuration again")]
        public static partial void Received(ILogger logger);

        [LoggerMessage(EventId = 1805, Level = LogLevel.Error, Message = "Configuration reload failed, the last good configuration stays in use: {Problem} ({Detail})")]
        public static partial void ReadFailed(ILogger logger, string problem, string detail);
    }
}
