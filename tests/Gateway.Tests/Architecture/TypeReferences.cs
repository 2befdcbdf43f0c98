using System.Reflection;
using System.Reflection.Emit;

namespace Gateway.Tests.Architecture;

/// <summary>
/// Every type a type uses, read by reflection from the built assembly: its base type and interfaces, the types of its
/// fields, properties, events, method signatures and attributes, and every type, method and field its method bodies
/// name in IL (calls, allocations, casts, field access, tokens). Nested types (lambdas' closures, async state
/// machines) count as their outermost type.
/// </summary>
public static class TypeReferences
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OneByte = [];
    private static readonly Dictionary<short, OpCode> TwoByte = [];

#pragma warning disable CA1810 // the opcode tables are filled once, from reflection over OpCodes
    static TypeReferences()
#pragma warning restore CA1810
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var code = (OpCode)field.GetValue(null)!;
            if (code.Size == 1)
            {
                OneByte[code.Value] = code;
            }
            else
            {
                TwoByte[(short)(code.Value & 0xFF)] = code;
            }
        }
    }

    /// <summary>The outermost declaring type of <paramref name="type"/>.</summary>
    public static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    /// <summary>For each top-level type of <paramref name="assembly"/>, the types it uses (itself excluded).</summary>
    public static Dictionary<Type, HashSet<Type>> Of(Assembly assembly)
    {
        var result = new Dictionary<Type, HashSet<Type>>();
        foreach (var type in assembly.GetTypes())
        {
            var owner = Outermost(type);
            if (!result.TryGetValue(owner, out var used))
            {
                result[owner] = used = [];
            }

            Collect(type, used);
            used.Remove(owner);
        }

        return result;
    }

    private static void Collect(Type type, HashSet<Type> used)
    {
        Add(type.BaseType, used);
        foreach (var i in type.GetInterfaces())
        {
            Add(i, used);
        }

        AddAttributes(type.GetCustomAttributesData(), used);
        foreach (var field in type.GetFields(Everything))
        {
            Add(field.FieldType, used);
            AddAttributes(field.GetCustomAttributesData(), used);
        }

        foreach (var property in type.GetProperties(Everything))
        {
            Add(property.PropertyType, used);
        }

        foreach (var e in type.GetEvents(Everything))
        {
            Add(e.EventHandlerType, used);
        }

        foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            AddAttributes(method.GetCustomAttributesData(), used);
            if (method is MethodInfo info)
            {
                Add(info.ReturnType, used);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(parameter.ParameterType, used);
            }

            if (method.GetMethodBody() is { } body)
            {
                foreach (var local in body.LocalVariables)
                {
                    Add(local.LocalType, used);
                }

                ScanIl(method, body.GetILAsByteArray() ?? [], used);
            }
        }
    }

    private static void AddAttributes(IList<CustomAttributeData> attributes, HashSet<Type> used)
    {
        foreach (var attribute in attributes)
        {
            Add(attribute.AttributeType, used);
        }
    }

    private static void Add(Type? type, HashSet<Type> used)
    {
        while (type is not null && (type.HasElementType || type.IsGenericParameter))
        {
            type = type.IsGenericParameter ? null : type.GetElementType();
        }

        if (type is null)
        {
            return;
        }

        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var argument in type.GetGenericArguments())
            {
                Add(argument, used);
            }

            type = type.GetGenericTypeDefinition();
        }

        used.Add(Outermost(type));
    }

    private static void ScanIl(MethodBase method, byte[] il, HashSet<Type> used)
    {
        var module = method.Module;
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            OpCode code;
            if (il[at] == 0xFE)
            {
                code = TwoByte[il[at + 1]];
                at += 2;
            }
            else
            {
                code = OneByte[il[at]];
                at += 1;
            }

            switch (code.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, at);
                    try
                    {
                        switch (module.ResolveMember(token, typeArguments, methodArguments))
                        {
                            case Type t:
                                Add(t, used);
                                break;
                            case MethodBase m:
                                Add(m.DeclaringType, used);
                                if (m is MethodInfo { IsGenericMethod: true } g)
                                {
                                    foreach (var argument in g.GetGenericArguments())
                                    {
                                        Add(argument, used);
                                    }
                                }

                                break;
                            case FieldInfo f:
                                Add(f.DeclaringType, used);
                                Add(f.FieldType, used);
                                break;
                        }
                    }
                    catch (ArgumentException)
                    {
                        // A token of a generic context this scan does not reconstruct: its declaring types were seen elsewhere.
                    }

                    at += 4;
                    break;
                case OperandType.InlineSwitch:
                    at += 4 + (4 * BitConverter.ToInt32(il, at));
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    at += 8;
                    break;
                case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.InlineSig or OperandType.InlineString or OperandType.ShortInlineR:
                    at += 4;
                    break;
                case OperandType.InlineVar:
                    at += 2;
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    at += 1;
                    break;
            }
        }
    }
}
